// The live-room page: pick a room, watch its pinned flash deal count down and
// sell out live, buy and pay. Talks GraphQL (/graphql) and the room feed (/ws).
'use strict';

(() => {
  const {gql, $, el, setText, formatCents, formatDuration, clockTime, shortID, serverNow, statusLabel} = FL;

  const EVENT_FIELDS = 'id priceCents stock remaining perUserLimit startsAt endsAt status waitingRoom queueLength product { id name description priceCents imageUrl }';
  const ORDER_FIELDS = 'id status totalCents expiresAt paidAt createdAt flashEvent { id product { name } } items { quantity }';

  const state = {
    roomId: null,
    room: null,        // {id, title, status, seller}
    events: new Map(), // id -> event
    pinned: null,      // event id
    orders: new Map(), // id -> order
    busy: false,
    blockedUntil: 0,   // RATE_LIMITED
    outcome: null,     // last purchase outcome for the pinned event
    viewers: new Map(), // room id -> viewers: the one figure the room list and the stage show
  };

  // Orders in these statuses hold units against the buyer's per-user limit
  // (as the hot stock counts them: cancelled and expired ones give them back).
  const HOLDING = new Set(['PENDING', 'AWAITING_PAYMENT', 'PAID', 'COMPLETED']);
  function unitsHeld(eventId) {
    let n = 0;
    for (const o of state.orders.values()) {
      if (o.flashEvent && o.flashEvent.id === eventId && HOLDING.has(o.status)) n += (o.items || []).reduce((k, i) => k + i.quantity, 0) || 1;
    }
    return n;
  }

  // setViewers records a room's audience from any source (the room list,
  // the room query, the feed's viewers frames) and redraws both places
  // that show it, so that they never disagree.
  function setViewers(roomId, count) {
    state.viewers.set(roomId, count);
    const text = count + ' watching';
    for (const e of document.querySelectorAll('[data-viewers-of]')) if (e.dataset.viewersOf === roomId) setCount(e, text);
    if (roomId === state.roomId) setText('viewers', String(count));
  }
  function setCount(e, text) { if (e.textContent !== text) e.textContent = text; }

  // ---- rooms -------------------------------------------------------------------
  async function loadRooms() {
    const list = $('rooms');
    try {
      const d = await gql(`{ serverTime liveRooms(first: 20) { edges { node { id title status viewerCount seller { displayName } flashEvents { id status } } } } }`);
      const rooms = d.liveRooms.edges.map(e => e.node).filter(r => r.status !== 'ENDED');
      rooms.sort((a, b) => (a.status === 'LIVE' ? 0 : 1) - (b.status === 'LIVE' ? 0 : 1));
      list.replaceChildren();
      if (!rooms.length) list.append(el('li', {class: 'muted'}, 'No live rooms right now.'));
      for (const r of rooms) {
        const live = r.flashEvents.filter(e => e.status === 'LIVE').length;
        state.viewers.set(r.id, r.viewerCount);
        const btn = el('button', {type: 'button', class: 'room-btn', 'data-room': r.id,
          'aria-current': r.id === state.roomId ? 'true' : null, onclick: () => openRoom(r.id)},
        el('span', {class: 'room-name'}, r.title),
        el('span', {class: 'room-meta'}, statusLabel(r.status) + ' · ',
          el('span', {'data-viewers-of': r.id}, r.viewerCount + ' watching'), live ? ' · ' + live + ' deal live' : ''));
        list.append(el('li', null, btn));
      }
      if (state.roomId && state.viewers.has(state.roomId)) setViewers(state.roomId, state.viewers.get(state.roomId));
      return rooms;
    } catch (e) {
      list.replaceChildren(el('li', {class: 'message error'}, 'Could not load rooms: ' + e.message));
      return [];
    }
  }

  async function openRoom(id) {
    if (state.roomId && state.roomId !== id) feed.leave(state.roomId);
    if (state.roomId !== id) {
      state.events.clear();
      state.pinned = null;
      state.outcome = null;
      setText('buy-message', '');
    }
    state.roomId = id;
    document.body.classList.remove('no-room');
    if (location.hash !== '#room=' + id) history.replaceState(null, '', '#room=' + id);
    for (const b of document.querySelectorAll('.room-btn')) b.setAttribute('aria-current', b.dataset.room === id ? 'true' : 'false');
    feed.join(id);
    await loadRoom();
  }

  let loadingRoom = null;
  function loadRoom() {
    if (!loadingRoom) loadingRoom = doLoadRoom().finally(() => { loadingRoom = null; });
    return loadingRoom;
  }
  async function doLoadRoom() {
    const id = state.roomId;
    if (!id) return;
    try {
      const d = await gql(`query($id: ID!) { serverTime liveRoom(id: $id) { id title status viewerCount seller { displayName } flashEvents { ${EVENT_FIELDS} } } }`, {id});
      if (id !== state.roomId) return;
      if (!d.liveRoom) { setText('room-title', 'This room does not exist'); return; }
      state.room = d.liveRoom;
      setViewers(id, d.liveRoom.viewerCount);
      for (const ev of d.liveRoom.flashEvents) {
        const old = state.events.get(ev.id);
        // The feed may be fresher than this answer for stock.
        if (old && old.feedRemaining !== undefined && old.status === ev.status) ev.remaining = Math.min(ev.remaining, old.remaining);
        state.events.set(ev.id, ev);
      }
      render();
    } catch (e) {
      setText('room-title', 'Could not load the room');
      setText('room-seller', e.message);
    }
  }

  // pinnedEvent: the LIVE deal, else the next one to start, else the latest.
  function choosePinned() {
    const evs = [...state.events.values()];
    const by = (a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt);
    const live = evs.filter(e => e.status === 'LIVE').sort(by);
    const next = evs.filter(e => e.status === 'SCHEDULED').sort(by);
    const past = evs.filter(e => e.status !== 'LIVE' && e.status !== 'SCHEDULED').sort(by).reverse();
    const pick = live[0] || next[0] || past[0];
    const id = pick ? pick.id : null;
    if (id !== state.pinned) { state.pinned = id; state.outcome = null; setText('buy-message', ''); }
  }

  // ---- rendering ---------------------------------------------------------------
  function render() {
    const r = state.room;
    if (r) {
      setText('room-title', r.title);
      setText('room-seller', 'Hosted by ' + r.seller.displayName);
      const badge = $('room-status');
      badge.textContent = r.status === 'LIVE' ? '● LIVE' : statusLabel(r.status);
      badge.className = 'badge ' + (r.status === 'LIVE' ? 'badge-live' : '');
      $('stage').classList.toggle('on-air', r.status === 'LIVE');
    }
    choosePinned();
    renderEvent();
    renderEventList();
  }

  function renderEvent() {
    const box = $('event');
    const ev = state.events.get(state.pinned);
    box.hidden = !ev;
    FLQueue.render(ev);
    if (!ev) return;
    setText('event-name', ev.product.name);
    setText('event-desc', ev.product.description || '');
    setText('event-price', formatCents(ev.priceCents));
    const img = $('event-image');
    const src = ev.product.imageUrl || '';
    if (img.getAttribute('src') !== src) {
      if (src) img.setAttribute('src', src); else img.removeAttribute('src');
    }
    img.alt = src ? ev.product.name : '';
    img.hidden = !src;
    img.parentElement.classList.toggle('no-image', !src);
    // The product's own price is the list price; the deal's is the flash price.
    const list = Number(ev.product.priceCents), flash = Number(ev.priceCents);
    const off = list > flash ? Math.round(100 * (list - flash) / list) : 0;
    $('list-price').hidden = off <= 0;
    $('discount').hidden = off <= 0;
    if (off > 0) {
      setText('list-price', formatCents(list));
      $('list-price').setAttribute('aria-label', 'List price ' + formatCents(list));
      setText('discount', '−' + off + '%');
    }
    const st = $('event-status');
    st.textContent = statusLabel(ev.status);
    st.className = 'badge badge-' + ev.status.toLowerCase();
    box.dataset.status = ev.status;
    setText('stock-left', String(ev.remaining));
    setText('stock-total', String(ev.stock));
    setText('event-limit', String(ev.perUserLimit));
    const bar = $('stock-bar');
    bar.setAttribute('aria-valuemax', String(ev.stock));
    bar.setAttribute('aria-valuenow', String(ev.remaining));
    bar.setAttribute('aria-valuetext', ev.remaining + ' of ' + ev.stock + ' left');
    const pct = ev.stock > 0 ? Math.max(0, Math.min(100, 100 * ev.remaining / ev.stock)) : 0;
    $('stock-fill').style.width = pct + '%';
    bar.classList.toggle('low', pct > 0 && pct <= 20);
    tick();
  }

  function renderEventList() {
    const list = $('events');
    const evs = [...state.events.values()].sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt));
    $('events-panel').hidden = evs.length === 0;
    list.replaceChildren(...evs.map(ev => el('li', {class: ev.id === state.pinned ? 'pinned' : '', 'data-event': ev.id},
      ev.product.imageUrl ? el('img', {class: 'ev-thumb', src: ev.product.imageUrl, alt: '', width: 40, height: 40, loading: 'lazy'}) : null,
      el('span', {class: 'ev-name'}, ev.product.name),
      el('span', {class: 'ev-meta'}, formatCents(ev.priceCents) + ' · ' + ev.remaining + '/' + ev.stock + ' left'),
      el('span', {class: 'badge badge-' + ev.status.toLowerCase()}, statusLabel(ev.status)))));
  }

  // tick redraws everything that depends on the clock (4 times a second).
  function tick() {
    setText('server-clock', new Date(serverNow()).toLocaleTimeString());
    const ev = state.events.get(state.pinned);
    if (ev) {
      const now = serverNow();
      let label, value;
      switch (ev.status) {
      case 'SCHEDULED':
        label = 'Starts in'; value = formatDuration(Date.parse(ev.startsAt) - now);
        if (Date.parse(ev.startsAt) <= now) { label = 'Starting'; value = 'now…'; startingSoon(ev); }
        break;
      case 'LIVE': label = 'Ends in'; value = formatDuration(Date.parse(ev.endsAt) - now); break;
      case 'SOLD_OUT': label = 'Sold out'; value = ''; break;
      case 'ENDED': label = 'Sale ended'; value = ''; break;
      case 'CLOSED': label = 'Closed by the seller'; value = ''; break;
      default: label = statusLabel(ev.status); value = '';
      }
      setText('countdown-label', label);
      setText('countdown', value);
      renderBuy(ev);
    }
    for (const o of state.orders.values()) {
      const t = document.querySelector(`[data-order-timer="${CSS.escape(o.id)}"]`);
      if (t && o.status === 'AWAITING_PAYMENT' && o.expiresAt) {
        const left = Date.parse(o.expiresAt) - serverNow();
        t.textContent = left > 0 ? 'Pay within ' + formatDuration(left) : 'Payment time is up';
      }
    }
  }

  // When the countdown reaches zero without a LIVE frame, ask the server.
  let startingAsked = 0;
  function startingSoon() {
    if (Date.now() - startingAsked < 1500) return;
    startingAsked = Date.now();
    loadRoom();
  }

  // renderBuy sets the buy button and, whenever it cannot be pressed, the
  // reason next to it.
  function renderBuy(ev) {
    const btn = $('buy');
    const signedIn = !!FL.getSession();
    let text, reason = '', enabled = false;
    const blocked = state.blockedUntil > Date.now();
    const held = unitsHeld(ev.id);
    switch (ev.status) {
    case 'LIVE':
      if (state.busy) { text = 'Buying…'; break; }
      if (ev.waitingRoom && !FLQueue.admitted(ev.id)) { text = 'Wait for your turn'; reason = 'This deal sells through its waiting room: buy opens when the queue admits you.'; break; }
      if (signedIn && (held >= ev.perUserLimit || state.outcome === 'LIMIT_REACHED')) {
        text = 'Limit reached';
        reason = 'You hold ' + Math.max(held, ev.perUserLimit) + ' of the ' + ev.perUserLimit + ' allowed per buyer for this deal.';
        break;
      }
      if (blocked) {
        text = 'Too many tries — wait ' + Math.ceil((state.blockedUntil - Date.now()) / 1000) + ' s';
        reason = 'Too many attempts in a short time.';
        break;
      }
      enabled = true;
      text = signedIn ? 'Buy now · ' + formatCents(ev.priceCents) : 'Sign in to buy';
      if (signedIn && held > 0) reason = 'You hold ' + held + ' of ' + ev.perUserLimit + ' allowed per buyer.';
      break;
    case 'SCHEDULED': text = 'Not started yet'; reason = 'Opens at ' + clockTime(Date.parse(ev.startsAt)) + '.'; break;
    case 'SOLD_OUT': text = 'Sold out'; reason = 'Every unit has been reserved.'; break;
    case 'ENDED': text = 'Sale ended'; reason = 'This deal ended at ' + clockTime(Date.parse(ev.endsAt)) + '.'; break;
    case 'CLOSED': text = 'Sale closed'; reason = 'The seller closed this deal.'; break;
    default: text = statusLabel(ev.status);
    }
    if (btn.textContent !== text) btn.textContent = text;
    if (btn.disabled === enabled) btn.disabled = !enabled;
    setText('buy-reason', reason);
  }

  // ---- buying --------------------------------------------------------------------
  const OUTCOME_TEXT = {
    RESERVED: 'Reserved! Your unit is held — pay for it under “Your orders” to keep it.',
    SOLD_OUT: 'Sold out — every unit has been taken.',
    LIMIT_REACHED: 'You already hold the most units allowed per buyer for this deal.',
    NOT_STARTED: 'This deal has not started yet.',
    ENDED: 'This deal has ended.',
    CLOSED: 'The seller closed this deal.',
    RATE_LIMITED: 'Too many attempts — please wait a moment.',
  };

  async function buy() {
    const ev = state.events.get(state.pinned);
    if (!ev || ev.status !== 'LIVE' || state.busy) return;
    if (!FL.getSession()) {
      message('buy-message', 'Sign in or use quick sign-up (on the right) to buy.', 'error');
      $('auth-email').focus();
      return;
    }
    state.busy = true;
    renderBuy(ev);
    message('buy-message', 'Buying…', '');
    try {
      const token = ev.waitingRoom ? FLQueue.token(ev.id)
        : (await gql('mutation($e: ID!) { flashPurchaseToken(eventId: $e) { token } }', {e: ev.id})).flashPurchaseToken.token;
      const d = await gql(`mutation($in: PurchaseFlashInput!) { purchaseFlash(input: $in) { outcome remaining retryAfterMs order { ${ORDER_FIELDS} } } }`,
        {in: {eventId: ev.id, token, quantity: 1, idempotencyKey: FL.newKey()}});
      const r = d.purchaseFlash;
      state.outcome = r.outcome;
      if (typeof r.remaining === 'number' && state.events.has(ev.id)) {
        const cur = state.events.get(ev.id);
        cur.remaining = Math.min(cur.remaining, r.remaining);
      }
      if (r.outcome === 'RATE_LIMITED') state.blockedUntil = Date.now() + (r.retryAfterMs || 1000);
      if (['SOLD_OUT', 'ENDED', 'CLOSED'].includes(r.outcome) && state.events.has(ev.id)) state.events.get(ev.id).status = r.outcome;
      message('buy-message', OUTCOME_TEXT[r.outcome] || r.outcome, r.outcome === 'RESERVED' ? 'ok' : 'error');
      $('buy-message').dataset.outcome = r.outcome;
      if (r.outcome === 'RESERVED') $('buy-message').append(' ', el('a', {href: '#orders-title', class: 'jump'}, 'Go to payment'));
      if (r.outcome === 'LIMIT_REACHED') loadMyOrders();
      if (r.order) {
        addOrder(Object.assign({outcome: r.outcome}, r.order));
        if (r.order.status === 'PENDING') setTimeout(() => refreshOrder(r.order.id), 400);
      }
    } catch (e) {
      message('buy-message', e.code === 'UNAVAILABLE' ? 'Busy right now — press buy again.' : e.message, 'error');
    } finally {
      state.busy = false;
      render();
    }
  }

  // ---- orders --------------------------------------------------------------------
  function addOrder(o) {
    const prev = state.orders.get(o.id) || {};
    state.orders.set(o.id, Object.assign(prev, o));
    renderOrders();
  }

  async function refreshOrder(id, attempt = 0) {
    try {
      const d = await gql(`query($id: ID!) { serverTime order(id: $id) { ${ORDER_FIELDS} } }`, {id});
      if (d.order) addOrder(d.order);
      if (d.order && d.order.status === 'PENDING' && attempt < 20) setTimeout(() => refreshOrder(id, attempt + 1), 300);
    } catch { /* the order frame will come */ }
  }

  async function pay(id, btn) {
    btn.disabled = true;
    btn.textContent = 'Paying…';
    try {
      const d = await gql(`mutation($id: ID!) { payOrder(id: $id) { ${ORDER_FIELDS} } }`, {id});
      addOrder(d.payOrder);
    } catch (e) {
      const o = state.orders.get(id);
      if (o) o.error = e.message;
      renderOrders();
    }
  }
  async function cancel(id, btn) {
    btn.disabled = true;
    try {
      const d = await gql(`mutation($id: ID!) { cancelOrder(id: $id) { ${ORDER_FIELDS} } }`, {id});
      addOrder(d.cancelOrder);
    } catch (e) {
      const o = state.orders.get(id);
      if (o) o.error = e.message;
      renderOrders();
    }
  }

  const ORDER_TEXT = {
    PENDING: 'Reserved — confirming…',
    AWAITING_PAYMENT: 'Awaiting payment',
    PAID: 'Paid — thank you!',
    COMPLETED: 'Completed — on its way',
    CANCELLED: 'Cancelled',
    EXPIRED: 'Expired — not paid in time',
  };

  function orderTime(t) {
    const d = new Date(t);
    const today = new Date(serverNow()).toDateString() === d.toDateString();
    return today ? clockTime(d) : d.toLocaleString([], {month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'});
  }

  function renderOrders() {
    const list = $('orders');
    const orders = [...state.orders.values()].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
    $('orders-empty').hidden = orders.length > 0;
    // "Go to payment" means nothing once no order waits for payment.
    const bm = $('buy-message');
    if (bm.dataset.outcome === 'RESERVED' && !orders.some(o => o.status === 'PENDING' || o.status === 'AWAITING_PAYMENT')) {
      message('buy-message', '', '');
      delete bm.dataset.outcome;
    }
    list.replaceChildren(...orders.map(o => {
      const name = o.flashEvent && o.flashEvent.product ? o.flashEvent.product.name : 'Order';
      const qty = (o.items || []).reduce((n, i) => n + i.quantity, 0) || 1;
      const li = el('li', {class: 'order order-' + String(o.status).toLowerCase(), 'data-order': o.id, 'data-status': o.status},
        el('div', {class: 'order-head'},
          el('strong', null, name + (qty > 1 ? ' ×' + qty : '')),
          o.totalCents !== undefined ? el('span', null, formatCents(o.totalCents)) : null),
        el('p', {class: 'order-meta'},
          el('span', {class: 'order-id', title: o.id}, 'Order #' + shortID(o.id)),
          o.createdAt ? el('span', null, ' · ', el('time', {datetime: o.createdAt}, orderTime(o.createdAt))) : null),
        el('p', {class: 'order-status'},
          el('span', {class: 'badge badge-' + String(o.status).toLowerCase()}, o.outcome === 'RESERVED' && o.status === 'PENDING' ? 'RESERVED' : statusLabel(o.status)),
          ' ', ORDER_TEXT[o.status] || ''),
        o.status === 'AWAITING_PAYMENT' ? el('p', {class: 'order-timer', 'data-order-timer': o.id}, o.expiresAt ? '' : 'Pay soon') : null,
        o.error ? el('p', {class: 'message error', role: 'alert'}, o.error) : null);
      if (o.status === 'AWAITING_PAYMENT') {
        li.append(el('div', {class: 'row'},
          el('button', {type: 'button', class: 'btn btn-buy pay-btn', 'data-pay': o.id, onclick: ev => pay(o.id, ev.currentTarget)}, 'Pay now'),
          el('button', {type: 'button', class: 'btn btn-ghost', onclick: ev => cancel(o.id, ev.currentTarget)}, 'Cancel')));
      }
      return li;
    }));
    tick();
  }

  async function loadMyOrders() {
    if (!FL.getSession()) return;
    try {
      const d = await gql(`{ serverTime myOrders(first: 10) { edges { node { ${ORDER_FIELDS} } } } }`);
      for (const {node} of d.myOrders.edges) if (node.flashEvent) addOrder(node);
    } catch { /* not a buyer, or signed out */ }
  }

  // ---- the feed --------------------------------------------------------------------
  function onFrame(f) {
    if (f.type === 'queue') { FLQueue.onFrame(f); return; }
    if (window.FLChat && FLChat.onFrame(f, state.roomId)) return;
    FLRain.onFrame(f); // the red-packet rain (rain.js)
    if (f.type === 'order') {
      const o = state.orders.get(f.orderId);
      if (o) { o.status = f.status; o.outcome = null; renderOrders(); }
      if (!HOLDING.has(f.status) && state.outcome === 'LIMIT_REACHED') state.outcome = null;
      if (!o || (f.status === 'AWAITING_PAYMENT' && !o.expiresAt)) refreshOrder(f.orderId);
      return;
    }
    if (f.room && f.room !== state.roomId) return;
    switch (f.type) {
    case 'snapshot': {
      let unknown = false;
      for (const s of f.events || []) {
        const ev = state.events.get(s.eventId);
        if (!ev) { unknown = true; continue; }
        ev.status = s.status; ev.remaining = s.remaining; ev.feedRemaining = s.remaining;
        if (s.startsAt) ev.startsAt = s.startsAt;
        if (s.endsAt) ev.endsAt = s.endsAt;
      }
      // A reconnect may have missed anything: reload the room.
      if (unknown || state.room) loadRoom();
      render();
      break;
    }
    case 'countdown': {
      const ev = state.events.get(f.eventId);
      if (!ev) { loadRoom(); break; }
      if (f.startsAt) ev.startsAt = f.startsAt;
      break;
    }
    case 'stock': {
      const ev = state.events.get(f.eventId);
      if (!ev) { loadRoom(); break; }
      ev.remaining = f.remaining; ev.feedRemaining = f.remaining;
      if (f.status) ev.status = f.status;
      render();
      break;
    }
    case 'event': {
      const ev = state.events.get(f.eventId);
      if (!ev) { loadRoom(); break; }
      ev.status = f.status;
      if (f.status === 'LIVE' || f.status === 'SOLD_OUT') state.outcome = state.outcome === 'LIMIT_REACHED' ? state.outcome : null;
      render();
      break;
    }
    case 'viewers':
      setViewers(f.room, f.count);
      break;
    }
  }
  const FEED_TEXT = {connecting: 'Connecting to the live feed…', open: 'Live feed connected', reconnecting: 'Connection lost — reconnecting…'};
  const feed = new FL.Feed(onFrame, s => {
    const e = $('feed-state');
    e.textContent = FEED_TEXT[s] || s;
    e.dataset.state = s;
  });
  if (window.FLChat) FLChat.init(feed);

  // ---- account -----------------------------------------------------------------------
  function message(id, text, kind) {
    const e = $(id);
    e.textContent = text;
    e.className = 'message' + (kind ? ' ' + kind : '');
  }
  function renderAccount() {
    const s = FL.getSession();
    $('signed-in').hidden = !s;
    $('auth-form').hidden = !!s;
    $('signin-link').hidden = !!s;
    if (s) {
      setText('me-name', s.user.displayName);
      setText('me-role', '(' + s.user.role.toLowerCase() + ')');
    }
    const ev = state.events.get(state.pinned);
    if (ev) renderBuy(ev);
  }
  FL.onSession(renderAccount);

  $('auth-form').addEventListener('submit', async e => {
    e.preventDefault();
    const email = $('auth-email').value.trim(), password = $('auth-password').value;
    if (!email || !password) { message('auth-message', 'Enter your email and password.', 'error'); return; }
    message('auth-message', 'Signing in…', '');
    try {
      await FL.login(email, password);
      message('auth-message', '', '');
      loadMyOrders();
    } catch (err) { message('auth-message', err.message, 'error'); }
  });
  $('signup-btn').addEventListener('click', async () => {
    const email = $('auth-email').value.trim(), password = $('auth-password').value;
    const name = $('auth-name').value.trim() || email.split('@')[0];
    if (!email || password.length < 8) { message('auth-message', 'Enter an email and a password of at least 8 characters.', 'error'); return; }
    message('auth-message', 'Creating your account…', '');
    try {
      await FL.register(email, password, name, 'BUYER');
      message('auth-message', '', '');
      loadMyOrders();
    } catch (err) { message('auth-message', err.message, 'error'); }
  });
  $('logout').addEventListener('click', async () => {
    await FL.logout();
    state.orders.clear();
    state.outcome = null;
    renderOrders();
  });
  $('buy').addEventListener('click', buy);
  $('refresh-rooms').addEventListener('click', loadRooms);

  // ---- start -------------------------------------------------------------------------
  FLQueue.init(render);
  renderAccount();
  loadMyOrders();
  document.body.classList.add('no-room');
  loadRooms().then(rooms => {
    const m = /^#room=(.+)$/.exec(location.hash);
    if (m) { openRoom(decodeURIComponent(m[1])); return; }
    // No room asked for: open the first one on air, as a shopper expects.
    const live = rooms.find(r => r.status === 'LIVE');
    if (live && !state.roomId) openRoom(live.id);
  });
  tick();
  setInterval(tick, 250);
  setInterval(() => { if (state.roomId) loadRoom(); }, 15000);
  setInterval(loadRooms, 30000);
})();
