// The waiting room of the demo pages (F15). On the live-room page: join the
// queue of a waiting-room deal (the proof of work solved in a Web Worker,
// pow-worker.js, with a progress hint), position and estimated wait live
// from the queue frames of /ws, the buy button once admitted, and a clear
// message when the queue closes. On the seller console: the queue length of
// each waiting-room deal, every second. app.js and seller.js call in at a
// few places (FLQueue, FLSellerQueue).
'use strict';

const FLQueue = (() => {
  const {gql, $, setText, formatDuration} = FL;
  const TICKET = 'eventId status position waiting estimatedWaitMs joinedAt purchaseToken { token expiresAt }';
  const tickets = new Map(); // event id -> the latest ticket
  let joining = null;        // event id being joined
  let onChange = () => {};

  // token returns the purchase token of an admission to the event, or null.
  function token(eventId) {
    const t = tickets.get(eventId);
    return t && t.status === 'ADMITTED' && t.purchaseToken && Date.parse(t.purchaseToken.expiresAt) > FL.serverNow() ? t.purchaseToken.token : null;
  }
  const admitted = eventId => token(eventId) !== null;

  function set(t) {
    if (!t) return;
    tickets.set(t.eventId, Object.assign(tickets.get(t.eventId) || {}, t));
    onChange();
  }

  // solve runs the proof of work in a worker, showing how far it got.
  function solve(challenge, bits) {
    if (bits === 0) return Promise.resolve({nonce: '0', hashes: 0, ms: 0});
    return new Promise((resolve, reject) => {
      const w = new Worker('pow-worker.js');
      const expected = Math.pow(2, bits);
      w.onmessage = ev => {
        if (ev.data.progress) {
          const pct = Math.min(99, Math.round(100 * ev.data.progress / expected));
          setText('queue-progress', 'Checking you are not a bot… ~' + pct + '%');
          return;
        }
        w.terminate();
        resolve(ev.data);
      };
      w.onerror = e => { w.terminate(); reject(new Error(e.message || 'the proof of work failed')); };
      w.postMessage({challenge, bits});
    });
  }

  async function join(eventId) {
    if (joining) return;
    joining = eventId;
    render(eventId);
    try {
      const c = (await gql('mutation($e: ID!) { queueChallenge(eventId: $e) { challenge difficultyBits expiresAt } }', {e: eventId})).queueChallenge;
      setText('queue-progress', 'Checking you are not a bot…');
      const s = await solve(c.challenge, c.difficultyBits);
      $('queue').dataset.powMs = String(Math.round(s.ms));
      const d = await gql(`mutation($in: JoinQueueInput!) { joinQueue(input: $in) { ${TICKET} } }`,
        {in: {eventId, challenge: c.challenge, nonce: s.nonce}});
      setText('queue-progress', '');
      set(d.joinQueue);
    } catch (e) {
      setText('queue-progress', '');
      setText('queue-message', e.message);
    } finally {
      joining = null;
      render(eventId);
    }
  }

  async function load(eventId) {
    if (!FL.getSession()) return;
    try {
      const d = await gql(`query($e: ID!) { myQueueTicket(eventId: $e) { ${TICKET} } }`, {e: eventId});
      if (d.myQueueTicket) set(d.myQueueTicket);
    } catch { /* not a buyer */ }
  }

  // onFrame takes a queue frame of /ws.
  function onFrame(f) {
    const t = {eventId: f.eventId, status: f.status, position: f.position, waiting: f.waiting, estimatedWaitMs: f.estimatedWaitMs};
    t.purchaseToken = f.purchaseToken || null;
    set(t);
  }

  const STATUS_TEXT = {
    ADMITTED: 'You are in! Press buy before your turn runs out.',
    CLOSED: 'The queue has closed: this deal sold out, ended or was closed while you waited.',
    EXPIRED: 'Your turn ran out before you bought. You may join the queue again, at the back.',
  };

  // render shows the queue panel of the pinned deal (ev: its id, or the
  // event with waitingRoom).
  let shown = null;
  function render(ev) {
    const box = $('queue');
    if (!box) return;
    const id = typeof ev === 'string' ? ev : ev && ev.waitingRoom ? ev.id : null;
    if (typeof ev === 'object' && ev && id !== shown) { shown = id; if (id) load(id); }
    box.hidden = !id;
    if (!id) return;
    const t = tickets.get(id);
    const open = typeof ev === 'object' ? ev.status === 'LIVE' || ev.status === 'SCHEDULED' : true;
    box.dataset.status = t ? t.status : 'NONE';
    const canJoin = open && !joining && (!t || t.status === 'EXPIRED' || (t.status === 'CLOSED' && ev.status === 'LIVE'));
    const btn = $('queue-join');
    btn.hidden = !canJoin;
    btn.disabled = !FL.getSession();
    btn.textContent = FL.getSession() ? (t ? 'Join the queue again' : 'Join the queue') : 'Sign in to join the queue';
    let line = '';
    if (t && t.status === 'WAITING') {
      line = t.position == null
        ? 'You are in the queue (' + t.waiting + ' waiting). The order is drawn at random when the sale starts.'
        : 'Your place in the queue: ' + t.position + ' of ' + t.waiting + (t.estimatedWaitMs != null ? ' · about ' + formatDuration(t.estimatedWaitMs) + ' to wait' : '');
    } else if (t && t.status === 'ADMITTED' && typeof ev === 'object' && ev.status !== 'LIVE') {
      line = 'Your turn came; this deal is now ' + FL.statusLabel(ev.status).toLowerCase() + '.';
    } else if (t) line = STATUS_TEXT[t.status] || t.status;
    else if (open) line = 'This deal sells through a waiting room: join the queue, and buy when it is your turn.';
    setText('queue-status', line);
    if (t && t.status !== 'WAITING') setText('queue-message', '');
  }

  return {
    token, admitted, onFrame, render, load,
    init(changed) {
      onChange = changed;
      const btn = $('queue-join');
      if (btn) btn.addEventListener('click', () => { if (shown) join(shown); });
      FL.onSession(() => { tickets.clear(); if (shown) load(shown); onChange(); });
    },
  };
})();

// FLSellerQueue shows the seller the queue length of their waiting-room
// deals, asked every second.
const FLSellerQueue = (() => {
  function start(events, changed) {
    setInterval(async () => {
      const ids = [...events.values()].filter(e => e.waitingRoom && ['SCHEDULED', 'LIVE', 'SOLD_OUT'].includes(e.status)).map(e => e.id);
      for (const id of ids) {
        try {
          const d = await FL.gql('query($id: ID!) { flashEvent(id: $id) { id queueLength } }', {id});
          const ev = events.get(id);
          if (d.flashEvent && ev && ev.queueLength !== d.flashEvent.queueLength) { ev.queueLength = d.flashEvent.queueLength; changed(); }
        } catch { /* next second */ }
      }
    }, 1000);
  }
  return {start};
})();
