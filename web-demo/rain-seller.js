// The seller console's red-packet rain: pick one of your rooms, put a sum
// into packets for a window, and watch the rain drain (polled once a
// second) until it finishes and the rest is refunded.
'use strict';

(() => {
  const {gql, $, el, formatCents, statusLabel} = FL;
  const rains = new Map(); // id -> rain as last read

  async function loadRooms() {
    const s = FL.getSession();
    if (!s) return;
    try {
      const d = await gql('{ liveRooms(first: 50) { edges { node { id title status seller { id } redPacketRains { id totalCents packets packetsLeft status refundedCents } } } } }');
      const mine = d.liveRooms.edges.map(e => e.node).filter(r => r.seller.id === s.user.id);
      const sel = $('rain-room');
      const keep = sel.value;
      sel.replaceChildren(...mine.filter(r => r.status !== 'ENDED').map(r => el('option', {value: r.id}, r.title)));
      if (keep) sel.value = keep;
      for (const r of mine) for (const rain of r.redPacketRains) rains.set(rain.id, rain);
      render();
    } catch { /* signed out */ }
  }

  function render() {
    const list = [...rains.values()].sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, 10);
    $('rain-list').replaceChildren(...list.map(r => el('li', {class: 'seller-rain', 'data-rain': r.id},
      formatCents(r.totalCents) + ' in ' + r.packets + ' packets · ',
      el('strong', {class: 'rain-left'}, String(r.packetsLeft)), ' left · ',
      el('span', {class: 'rain-state'}, statusLabel(r.status)),
      r.status === 'FINISHED' ? ' · refunded ' + formatCents(r.refundedCents) : '')));
  }

  async function poll() {
    for (const r of rains.values()) {
      if (r.status === 'FINISHED' && r.refundedCents > 0) continue;
      if (r.status === 'FINISHED' && r.packetsLeft === 0) continue;
      try {
        const d = await gql('query($id: ID!) { redPacketRain(id: $id) { id totalCents packets packetsLeft status refundedCents } }', {id: r.id});
        if (d.redPacketRain) rains.set(r.id, d.redPacketRain);
      } catch { /* try next second */ }
    }
    render();
  }

  $('rain-form').addEventListener('submit', async e => {
    e.preventDefault();
    const msg = $('rain-message');
    msg.textContent = 'Creating…';
    const startsAt = new Date(FL.serverNow() + Number($('rain-in').value) * 1000);
    const endsAt = new Date(startsAt.getTime() + Number($('rain-for').value) * 1000);
    try {
      const d = await gql('mutation($in: CreateRedPacketRainInput!) { createRedPacketRain(input: $in) { id totalCents packets packetsLeft status refundedCents } }', {in: {
        liveRoomId: $('rain-room').value, totalCents: Math.round(Number($('rain-total').value) * 100),
        packets: Number($('rain-packets').value), startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString(),
      }});
      rains.set(d.createRedPacketRain.id, d.createRedPacketRain);
      msg.textContent = 'Rain created.';
      render();
    } catch (err) { msg.textContent = err.message; }
  });
  $('rain-room').addEventListener('focus', loadRooms);
  FL.onSession(loadRooms);
  loadRooms();
  setInterval(poll, 1000);
})();
