// Red-packet rain on the live-room page: the room's next or current rain
// from the feed (snapshot "rains" and "rain" frames), a countdown to it,
// packets falling while it is LIVE (tap one to grab), and the amount won.
// app.js hands it every feed frame (FLRain.onFrame).
'use strict';

const FLRain = (() => {
  const {gql, $, el, formatCents, formatDuration, serverNow} = FL;
  const state = {
    room: null,
    rains: new Map(), // rain id -> rain frame (status, packetsLeft, startsAt, endsAt)
    keys: new Map(),  // rain id -> this page's idempotency key: a retry asks again with it
    won: new Map(),   // rain id -> the grab's answer
    busy: false,
  };

  // current is the LIVE rain, else the next SCHEDULED one.
  function current() {
    let next = null;
    for (const r of state.rains.values()) {
      if (r.status === 'LIVE') return r;
      if (r.status === 'SCHEDULED' && (!next || Date.parse(r.startsAt) < Date.parse(next.startsAt))) next = r;
    }
    return next;
  }

  function onFrame(f) {
    if (f.type === 'snapshot') {
      if (f.room !== state.room) { state.room = f.room; state.rains.clear(); }
      for (const r of f.rains || []) state.rains.set(r.rainId, r);
      render();
    } else if (f.type === 'rain' && f.room === state.room) {
      state.rains.set(f.rainId, f);
      render();
    }
  }

  function render() {
    const r = current();
    const panel = $('rain-panel');
    if (!panel) return;
    panel.hidden = !r && !lastWon();
    if (!r) { stopDrops(); renderWon(); return; }
    const now = serverNow();
    $('rain-status').textContent = r.status === 'LIVE' ? 'Raining now' : 'Red-packet rain soon';
    $('rain-countdown').textContent = r.status === 'LIVE'
      ? formatDuration(Date.parse(r.endsAt) - now) + ' left · ' + r.packetsLeft + ' packets'
      : 'starts in ' + formatDuration(Date.parse(r.startsAt) - now);
    if (r.status === 'LIVE' && r.packetsLeft > 0 && !state.won.has(r.rainId)) startDrops(r); else stopDrops();
    renderWon();
  }

  function lastWon() {
    let last = null;
    for (const a of state.won.values()) last = a;
    return last;
  }

  function renderWon() {
    const a = lastWon();
    const e = $('rain-won');
    if (!e) return;
    if (!a) { e.textContent = ''; return; }
    switch (a.outcome) {
    case 'GRABBED': e.textContent = 'You won ' + formatCents(a.amountCents) + '!'; break;
    case 'ALREADY_GRABBED': e.textContent = 'You already hold ' + formatCents(a.amountCents) + ' from this rain.'; break;
    case 'EMPTY': e.textContent = 'Every packet is taken.'; break;
    case 'NOT_STARTED': e.textContent = 'Not raining yet.'; break;
    case 'ENDED': e.textContent = 'The rain has ended.'; break;
    case 'RATE_LIMITED': e.textContent = 'Easy! Try again in a moment.'; break;
    default: e.textContent = a.outcome;
    }
  }

  // ---- falling packets -------------------------------------------------------------
  let dropTimer = null;
  function startDrops(r) {
    if (dropTimer) return;
    const drop = () => {
      const sky = $('rain-sky');
      if (!sky || sky.childElementCount > 12) return;
      const b = el('button', {type: 'button', class: 'packet', 'aria-label': 'Grab a red packet', 'data-rain': r.rainId}, '红');
      b.style.left = Math.floor(Math.random() * 85) + '%';
      b.addEventListener('click', () => grab(r.rainId));
      b.addEventListener('animationend', () => b.remove());
      sky.append(b);
    };
    drop();
    dropTimer = setInterval(drop, 500);
  }
  function stopDrops() {
    if (dropTimer) { clearInterval(dropTimer); dropTimer = null; }
    const sky = $('rain-sky');
    if (sky) sky.replaceChildren();
  }

  async function grab(rainId) {
    if (state.busy) return;
    state.busy = true;
    if (!state.keys.has(rainId)) state.keys.set(rainId, FL.newKey());
    try {
      const d = await gql('mutation($r: ID!, $k: String!) { grabRedPacket(rainId: $r, idempotencyKey: $k) { outcome amountCents packetsLeft retryAfterMs } }',
        {r: rainId, k: state.keys.get(rainId)});
      const a = d.grabRedPacket;
      if (a.outcome === 'RATE_LIMITED') state.keys.delete(rainId);
      state.won.set(rainId, a);
      const r = state.rains.get(rainId);
      if (r && a.packetsLeft != null && a.packetsLeft < r.packetsLeft) r.packetsLeft = a.packetsLeft;
    } catch (e) {
      state.won.set(rainId, {outcome: e.message || 'error'});
    } finally {
      state.busy = false;
      render();
    }
  }

  setInterval(render, 1000);
  return {onFrame};
})();
