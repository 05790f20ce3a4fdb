DROP TABLE red_packet_refunds;
DROP TABLE red_packet_grabs;
DROP TABLE red_packet_rains;
