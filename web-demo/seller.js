// The seller console: products, rooms, flash deals; live stock over /ws and
// orders polled every 2 s.
'use strict';

(() => {
  const {gql, $, el, setText, formatCents, formatDuration, clockTime, shortID, serverNow, statusLabel} = FL;
  const EVENT_FIELDS = 'id priceCents stock remaining perUserLimit startsAt endsAt status waitingRoom queueLength product { id name priceCents imageUrl } liveRoom { id title }';
  const PRODUCT_FIELDS = 'id name priceCents stock imageUrl seller { id }';
  // Orders that hold units and money: paid ones are revenue, the others may still be.
  const PAID = new Set(['PAID', 'COMPLETED']);
  const UNPAID = new Set(['PENDING', 'AWAITING_PAYMENT']);
  const absTime = t => new Date(t).toLocaleString([], {weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit'});

  const state = {me: null, products: [], rooms: [], events: new Map(), orders: new Map()};

  function message(id, text, kind) {
    const e = $(id);
    e.textContent = text;
    e.className = 'message' + (kind ? ' ' + kind : '');
  }
  const toCents = v => Math.round(parseFloat(v) * 100);
  const int = id => parseInt($(id).value, 10);

  // ---- session ---------------------------------------------------------------------
  function renderSession() {
    const s = FL.getSession();
    const seller = s && (s.user.role === 'SELLER' || s.user.role === 'ADMIN');
    state.me = seller ? s.user : null;
    $('login-panel').hidden = !!seller;
    $('whoami').hidden = !seller;
    for (const p of document.querySelectorAll('.console')) p.hidden = !seller;
    if (seller) {
      setText('me-name', s.user.displayName);
      setText('me-email', '(' + s.user.email + ')');
      loadAll();
    }
  }
  FL.onSession(renderSession);

  $('login-form').addEventListener('submit', async e => {
    e.preventDefault();
    message('login-message', 'Signing in…', '');
    try {
      const s = await FL.login($('login-email').value.trim(), $('login-password').value);
      if (s.user.role !== 'SELLER' && s.user.role !== 'ADMIN') {
        FL.setSession(null);
        message('login-message', 'This account is not a seller account.', 'error');
        return;
      }
      message('login-message', '', '');
    } catch (err) { message('login-message', err.message, 'error'); }
  });
  $('logout').addEventListener('click', () => FL.logout());

  // ---- loading -----------------------------------------------------------------------
  async function loadAll() {
    if (!state.me) return;
    try {
      // Two operations: each stays well under the server's complexity limit.
      const [pd, d] = await Promise.all([
        gql(`{ serverTime products(first: 50) { edges { node { ${PRODUCT_FIELDS} } } } }`),
        gql(`{ liveRooms(first: 20) { edges { node { id title status seller { id } flashEvents { ${EVENT_FIELDS} } } } } }`)]);
      d.products = pd.products;
      const mine = n => n.seller.id === state.me.id;
      state.products = d.products.edges.map(e => e.node).filter(mine);
      state.rooms = d.liveRooms.edges.map(e => e.node).filter(mine);
      for (const r of state.rooms) {
        feed.join(r.id);
        for (const ev of r.flashEvents) state.events.set(ev.id, Object.assign(state.events.get(ev.id) || {}, ev));
      }
      render();
    } catch (err) { message('event-message', 'Could not load your catalog: ' + err.message, 'error'); }
  }

  function fillSelect(sel, items, label) {
    const keep = sel.value;
    sel.replaceChildren(...items.map(i => el('option', {value: i.id}, label(i))));
    if (items.some(i => i.id === keep)) sel.value = keep;
  }

  function render() {
    fillSelect($('event-product'), state.products, p => p.name + ' — ' + formatCents(p.priceCents) + ' (' + p.stock + ' in stock)');
    fillSelect($('event-room'), state.rooms.filter(r => r.status !== 'ENDED'), r => r.title + ' (' + statusLabel(r.status) + ')');
    $('room-list').replaceChildren(...state.rooms.map(r => el('li', {class: 'seller-event'},
      el('div', {class: 'row', style: 'align-items:center;margin:0'},
        el('strong', {style: 'flex:1'}, r.title), el('span', {class: 'badge badge-' + (r.status === 'LIVE' ? 'live' : r.status.toLowerCase())}, statusLabel(r.status))),
      el('div', {class: 'row'},
        r.status === 'SCHEDULED' ? el('button', {type: 'button', class: 'btn btn-secondary', onclick: () => roomAction('startLiveRoom', r.id)}, 'Go live') : null,
        r.status === 'LIVE' ? el('button', {type: 'button', class: 'btn btn-ghost', onclick: () => roomAction('endLiveRoom', r.id)}, 'End stream') : null,
        el('a', {href: '/#room=' + encodeURIComponent(r.id), class: 'btn btn-ghost', style: 'text-decoration:none;text-align:center'}, 'Open viewer page')))));
    renderProducts();
    renderEvents();
  }

  // renderProducts lists the seller's products, each with its picture and
  // a field to change it (updateProduct).
  function renderProducts() {
    $('products-empty').hidden = state.products.length > 0;
    $('product-list').replaceChildren(...state.products.map(p => {
      const input = el('input', {type: 'text', inputmode: 'url', autocomplete: 'off', maxlength: '2048', list: 'demo-images',
        value: p.imageUrl || '', placeholder: 'No image', 'aria-label': 'Image URL of ' + p.name});
      const msg = el('p', {class: 'message', role: 'status'});
      return el('li', {class: 'product-row', 'data-product': p.id},
        p.imageUrl ? el('img', {class: 'thumb', src: p.imageUrl, alt: '', width: 56, height: 56}) : el('span', {class: 'thumb', 'aria-hidden': 'true'}),
        el('div', null, el('strong', null, p.name), el('p', {class: 'muted'}, formatCents(p.priceCents) + ' · ' + p.stock + ' in stock')),
        el('form', {class: 'form', novalidate: true, onsubmit: e => { e.preventDefault(); setImage(p.id, input.value.trim(), msg); }},
          input, el('button', {type: 'submit', class: 'btn btn-secondary'}, 'Save image')),
        msg);
    }));
  }

  async function setImage(id, imageUrl, msg) {
    try {
      await gql('mutation($id: ID!, $in: UpdateProductInput!) { updateProduct(id: $id, input: $in) { id imageUrl } }', {id, in: {imageUrl}});
      await loadAll();
    } catch (err) {
      msg.textContent = err.message;
      msg.className = 'message error';
    }
  }

  // figures sums an event's orders: units sold (reserved and not given
  // back), money paid and money still awaiting payment.
  function figures(ev) {
    const orders = state.orders.get(ev.id) || [];
    const sum = set => orders.filter(o => set.has(o.status)).reduce((n, o) => n + Number(o.totalCents), 0);
    return {sold: Math.max(0, ev.stock - ev.remaining), revenue: sum(PAID), pending: sum(UNPAID)};
  }

  function renderTotals(evs) {
    let sold = 0, revenue = 0, pending = 0;
    for (const ev of evs) { const f = figures(ev); sold += f.sold; revenue += f.revenue; pending += f.pending; }
    setText('total-sold', String(sold));
    setText('total-revenue', formatCents(revenue));
    setText('total-pending', formatCents(pending));
    setText('total-live', String(evs.filter(e => e.status === 'LIVE').length));
  }

  function renderEvents() {
    const box = $('seller-events');
    const evs = [...state.events.values()].sort((a, b) => Date.parse(b.startsAt) - Date.parse(a.startsAt));
    $('events-empty').hidden = evs.length > 0;
    $('totals').hidden = evs.length === 0;
    renderTotals(evs);
    box.replaceChildren(...evs.map(ev => {
      const orders = state.orders.get(ev.id) || [];
      const pct = ev.stock ? 100 * ev.remaining / ev.stock : 0;
      const open = ev.status === 'SCHEDULED' || ev.status === 'LIVE' || ev.status === 'SOLD_OUT';
      const f = figures(ev);
      const list = ev.product.priceCents;
      return el('article', {class: 'seller-event', 'data-event': ev.id, 'data-status': ev.status},
        el('div', {class: 'row', style: 'align-items:center;margin:0'},
          ev.product.imageUrl ? el('img', {class: 'thumb', src: ev.product.imageUrl, alt: '', width: 56, height: 56}) : null,
          el('h3', {style: 'flex:1;margin:0'}, ev.product.name + ' · ' + formatCents(ev.priceCents),
            list > ev.priceCents ? el('span', {class: 'muted', style: 'font-weight:400'}, ' (list ', el('s', null, formatCents(list)), ')') : null),
          el('span', {class: 'badge badge-' + ev.status.toLowerCase()}, statusLabel(ev.status))),
        el('p', {class: 'ev-when'},
          el('time', {class: 'ev-starts', datetime: ev.startsAt}, 'Starts ' + absTime(ev.startsAt)),
          ' · ends ' + clockTime(ev.endsAt) + ' · ',
          el('span', {class: 'ev-clock', 'data-starts': ev.startsAt, 'data-ends': ev.endsAt, 'data-status': ev.status}, '')),
        el('p', {class: 'muted'}, (ev.liveRoom ? 'In ' + ev.liveRoom.title + ' · ' : '') + 'limit ' + ev.perUserLimit + ' per buyer'),
        ev.waitingRoom ? el('p', {class: 'ev-queue'}, 'Waiting room · ', el('strong', {class: 'ev-queue-length'}, String(ev.queueLength || 0)), ' in the queue') : null,
        el('p', {class: 'ev-figures'},
          el('span', null, 'Sold ', el('strong', {class: 'ev-sold'}, String(f.sold)), ' of ' + ev.stock),
          el('span', null, 'Revenue ', el('strong', {class: 'ev-revenue'}, formatCents(f.revenue))),
          f.pending ? el('span', {class: 'muted'}, formatCents(f.pending) + ' awaiting payment') : null),
        el('div', {class: 'stock-bar', role: 'progressbar', 'aria-label': 'Units left', 'aria-valuemin': '0', 'aria-valuemax': String(ev.stock), 'aria-valuenow': String(ev.remaining)},
          el('div', {class: 'stock-fill', style: 'width:' + pct + '%'})),
        el('p', {class: 'stock-text'}, el('strong', {class: 'ev-remaining'}, String(ev.remaining)), ' of ' + ev.stock + ' left'),
        open ? el('div', {class: 'row', style: 'margin:0'}, el('button', {type: 'button', class: 'btn btn-danger', onclick: ev2 => closeEvent(ev.id, ev2.currentTarget)}, 'Close deal')) : null,
        el('h4', {style: 'margin:.5rem 0 0'}, 'Orders (' + orders.length + ')'),
        orders.length ? el('div', {class: 'table-wrap'}, el('table', null,
          el('thead', null, el('tr', null, el('th', {scope: 'col'}, 'Order'), el('th', {scope: 'col'}, 'Placed'), el('th', {scope: 'col'}, 'Buyer'), el('th', {scope: 'col'}, 'Total'), el('th', {scope: 'col'}, 'Status'), el('th', {scope: 'col'}, el('span', {class: 'muted'}, 'Action')))),
          el('tbody', null, orders.map(o => el('tr', {'data-order': o.id},
            el('td', {class: 'order-id', title: o.id}, '#' + shortID(o.id)),
            el('td', null, el('time', {datetime: o.createdAt}, clockTime(o.createdAt))),
            el('td', null, o.buyer ? o.buyer.displayName : '—'),
            el('td', null, formatCents(o.totalCents)),
            el('td', null, el('span', {class: 'badge badge-' + o.status.toLowerCase()}, statusLabel(o.status))),
            el('td', null, o.status === 'PAID' ? el('button', {type: 'button', class: 'btn', onclick: e => completeOrder(o.id, e.currentTarget)}, 'Complete') : '')))))) : el('p', {class: 'muted'}, 'No orders yet.'));
    }));
    tick();
  }

  function tick() {
    setText('server-clock', new Date(serverNow()).toLocaleTimeString());
    for (const c of document.querySelectorAll('.ev-clock')) {
      const now = serverNow(), st = c.dataset.status;
      let t = '';
      if (st === 'SCHEDULED') t = 'opens in ' + formatDuration(Date.parse(c.dataset.starts) - now);
      else if (st === 'LIVE') t = 'ends in ' + formatDuration(Date.parse(c.dataset.ends) - now);
      else t = statusLabel(st).toLowerCase();
      if (c.textContent !== t) c.textContent = t;
    }
  }

  // ---- actions ---------------------------------------------------------------------------
  $('product-form').addEventListener('submit', async e => {
    e.preventDefault();
    const name = $('product-name').value.trim();
    if (!name) { message('product-message', 'Give the product a name.', 'error'); return; }
    try {
      const input = {name, description: $('product-desc').value, priceCents: toCents($('product-price').value), stock: int('product-stock')};
      const imageUrl = $('product-image').value.trim();
      if (imageUrl) input.imageUrl = imageUrl;
      const d = await gql('mutation($in: CreateProductInput!) { createProduct(input: $in) { id name } }', {in: input});
      message('product-message', 'Created “' + d.createProduct.name + '”.', 'ok');
      $('product-name').value = '';
      $('product-image').value = '';
      previewImage();
      await loadAll();
      $('event-product').value = d.createProduct.id;
    } catch (err) { message('product-message', err.message, 'error'); }
  });

  // The preview shows what the image URL points at, once it loads.
  function previewImage() {
    const v = $('product-image').value.trim(), img = $('product-image-preview');
    img.hidden = true;
    if (!/^(https?:\/\/|\/(?!\/))/.test(v)) { img.removeAttribute('src'); return; }
    img.onload = () => { img.hidden = false; };
    img.onerror = () => { img.hidden = true; };
    img.src = v;
  }
  $('product-image').addEventListener('input', previewImage);

  $('room-form').addEventListener('submit', async e => {
    e.preventDefault();
    const title = $('room-name').value.trim();
    if (!title) { message('room-message', 'Give the room a title.', 'error'); return; }
    try {
      const d = await gql('mutation($in: CreateLiveRoomInput!) { createLiveRoom(input: $in) { id title } }', {in: {title}});
      await gql('mutation($id: ID!) { startLiveRoom(id: $id) { id } }', {id: d.createLiveRoom.id});
      message('room-message', '“' + d.createLiveRoom.title + '” is live.', 'ok');
      $('room-name').value = '';
      await loadAll();
      $('event-room').value = d.createLiveRoom.id;
    } catch (err) { message('room-message', err.message, 'error'); }
  });

  async function roomAction(mutation, id) {
    try { await gql(`mutation($id: ID!) { ${mutation}(id: $id) { id } }`, {id}); await loadAll(); }
    catch (err) { message('room-message', err.message, 'error'); }
  }

  $('event-form').addEventListener('submit', async e => {
    e.preventDefault();
    const productId = $('event-product').value, liveRoomId = $('event-room').value;
    if (!productId || !liveRoomId) { message('event-message', 'Create a product and a room first.', 'error'); return; }
    try {
      await gql('{ serverTime }'); // fresh clock offset
      const starts = serverNow() + int('event-in') * 1000;
      const ends = starts + int('event-minutes') * 60000;
      const d = await gql(`mutation($in: CreateFlashEventInput!) { createFlashEvent(input: $in) { ${EVENT_FIELDS} } }`, {in: {
        productId, liveRoomId, priceCents: toCents($('event-price').value), stock: int('event-stock'),
        perUserLimit: int('event-limit'), startsAt: new Date(starts).toISOString(), endsAt: new Date(ends).toISOString(),
        waitingRoom: $('event-waiting').checked}});
      state.events.set(d.createFlashEvent.id, d.createFlashEvent);
      message('event-message', 'Scheduled “' + d.createFlashEvent.product.name + '”.', 'ok');
      renderEvents();
      loadAll();
    } catch (err) { message('event-message', err.message, 'error'); }
  });

  async function closeEvent(id, btn) {
    if (!confirm('Close this deal? No one can buy after this, and it cannot be undone.')) return;
    btn.disabled = true;
    try {
      const d = await gql('mutation($id: ID!) { closeFlashEvent(id: $id) { id status remaining } }', {id});
      Object.assign(state.events.get(id), d.closeFlashEvent);
      renderEvents();
    } catch (err) { btn.disabled = false; message('event-message', err.message, 'error'); }
  }

  async function completeOrder(id, btn) {
    btn.disabled = true;
    try { await gql('mutation($id: ID!) { completeOrder(id: $id) { id status } }', {id}); await pollOrders(); }
    catch (err) { btn.disabled = false; message('event-message', err.message, 'error'); }
  }

  // ---- live data ---------------------------------------------------------------------------
  let polling = false;
  async function pollOrders() {
    if (!state.me || polling) return;
    polling = true;
    try {
      const evs = [...state.events.values()].filter(e => e.status !== 'ENDED' && e.status !== 'CLOSED' || !state.orders.has(e.id)).slice(0, 10);
      let changed = false;
      for (const ev of evs) {
        const d = await gql('query($e: ID) { sellerOrders(flashEventId: $e, first: 50) { edges { node { id status totalCents createdAt buyer { displayName } } } } }', {e: ev.id});
        const next = d.sellerOrders.edges.map(x => x.node);
        if (JSON.stringify(next) !== JSON.stringify(state.orders.get(ev.id) || [])) { state.orders.set(ev.id, next); changed = true; }
      }
      if (changed) renderEvents();
    } catch { /* try again in 2 s */ } finally { polling = false; }
  }

  // ---- the rooms' chat: each message with Delete and Mute (10 minutes) ----------
  function chatLine(m) {
    if (document.getElementById('schat-' + m.id)) return;
    const room = state.rooms.find(r => r.id === m.room);
    const li = el('li', {class: 'chat-line', id: 'schat-' + m.id, 'data-id': m.id},
      el('span', {class: 'muted'}, room ? room.title + ' · ' : ''),
      el('strong', {}, m.author.displayName), ' ', el('span', {class: 'chat-text'}, m.text),
      el('span', {class: 'chat-actions'},
        el('button', {type: 'button', class: 'btn btn-ghost chat-delete', onclick: () => chatAction(
          'mutation($id: ID!) { deleteChatMessage(id: $id) }', {id: m.id})}, 'Delete'),
        el('button', {type: 'button', class: 'btn btn-ghost chat-mute', onclick: () => chatAction(
          'mutation($r: ID!, $u: ID!) { muteChatUser(roomId: $r, userId: $u, minutes: 10) }', {r: m.room, u: m.author.id},
          m.author.displayName + ' is muted for 10 minutes.')}, 'Mute 10 min')));
    $('seller-chat').append(li);
    while ($('seller-chat').children.length > 200) $('seller-chat').firstElementChild.remove();
    $('chat-panel').hidden = false;
  }
  async function chatAction(query, vars, done) {
    try { await gql(query, vars); message('chat-note', done || '', 'ok'); } catch (err) { message('chat-note', err.message, 'error'); }
  }

  function onFrame(f) {
    const ev = f.eventId && state.events.get(f.eventId);
    switch (f.type) {
    case 'chat':
      chatLine(f);
      break;
    case 'chat_deleted': {
      const e = document.getElementById('schat-' + f.id);
      if (e) e.remove();
      break;
    }
    case 'snapshot':
      for (const m of f.chat || []) chatLine(Object.assign({room: f.room}, m));
      for (const s of f.events || []) {
        const e = state.events.get(s.eventId);
        if (e) { e.status = s.status; e.remaining = s.remaining; }
      }
      renderEvents();
      break;
    case 'stock':
      if (ev) { ev.remaining = f.remaining; if (f.status) ev.status = f.status; renderEvents(); }
      break;
    case 'event':
      if (ev) { ev.status = f.status; renderEvents(); } else loadAll();
      break;
    }
  }
  const feed = new FL.Feed(onFrame);

  renderSession();
  tick();
  setInterval(tick, 500);
  setInterval(pollOrders, 2000);
  FLSellerQueue.start(state.events, renderEvents);
})();
