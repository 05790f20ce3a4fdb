package realtime

import "encoding/binary"

// WebSocket opcodes (RFC 6455 §5.2) of the frames the hub writes itself.
const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

// wsFrame returns payload as one unfragmented, unmasked server frame
// (RFC 6455 §5.2): the bytes a socket is written, the same for every
// viewer a broadcast goes to.
func wsFrame(op byte, payload []byte) []byte {
	n := len(payload)
	var b []byte
	switch {
	case n < 126:
		b = make([]byte, 2, 2+n)
		b[1] = byte(n)
	case n <= 0xFFFF:
		b = make([]byte, 4, 4+n)
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b = make([]byte, 10, 10+n)
		b[1] = 127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
	}
	b[0] = 0x80 | op // FIN: one frame per message
	return append(b, payload...)
}

// pingFrame is the hub's keep-alive ping, with no payload.
var pingFrame = wsFrame(opPing, nil)
