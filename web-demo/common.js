// Shared helpers of the flashlive demo pages: GraphQL over fetch, the signed-in
// session, a clock that follows the server, the /ws room feed and tiny DOM
// helpers. No framework, no build step. User-supplied text is only ever put in
// the page with textContent.
'use strict';

const FL = (() => {
  const SESSION_KEY = 'flashlive.session';

  // ---- session -------------------------------------------------------------
  let session = null;
  try { session = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null'); } catch { session = null; }
  const sessionListeners = [];
  function setSession(s) {
    session = s;
    if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
    else sessionStorage.removeItem(SESSION_KEY);
    for (const f of sessionListeners) f(session);
  }
  const getSession = () => session;
  const onSession = f => sessionListeners.push(f);

  // ---- server clock ----------------------------------------------------------
  let offset = 0; // server time - local time, in ms
  function observeServerTime(serverTime, sentAt, receivedAt) {
    const t = Date.parse(serverTime);
    if (Number.isNaN(t)) return;
    const local = sentAt ? (sentAt + receivedAt) / 2 : Date.now();
    const cand = t - local;
    if (sentAt || Math.abs(cand - offset) > 250) offset = cand;
  }
  const serverNow = () => Date.now() + offset;

  // ---- GraphQL ---------------------------------------------------------------
  class GraphQLError extends Error {
    constructor(message, code) { super(message); this.code = code; }
  }
  async function rawGql(query, variables, token) {
    const headers = {'Content-Type': 'application/json'};
    if (token) headers.Authorization = 'Bearer ' + token;
    const sentAt = Date.now();
    let res;
    try {
      res = await fetch('/graphql', {method: 'POST', headers, body: JSON.stringify({query, variables})});
    } catch {
      throw new GraphQLError('The server cannot be reached. Check your connection.', 'NETWORK');
    }
    let body;
    try { body = await res.json(); } catch { throw new GraphQLError('The server answered ' + res.status + '.', 'BAD_RESPONSE'); }
    if (body.data && body.data.serverTime) observeServerTime(body.data.serverTime, sentAt, Date.now());
    if (body.errors && body.errors.length) {
      const e = body.errors[0];
      throw new GraphQLError(e.message || 'Something went wrong.', (e.extensions && e.extensions.code) || 'ERROR');
    }
    return body.data;
  }
  // gql sends an operation as the signed-in user (if any); an expired access
  // token is refreshed once with the refresh token.
  async function gql(query, variables) {
    const s = session;
    try {
      return await rawGql(query, variables, s && s.accessToken);
    } catch (e) {
      if (e.code !== 'UNAUTHENTICATED' || !s || !s.refreshToken) throw e;
      try {
        const d = await rawGql(`mutation($r: String!) { refreshToken(refreshToken: $r) { ${SESSION_FIELDS} } }`, {r: s.refreshToken});
        setSession(d.refreshToken);
      } catch {
        setSession(null);
        throw new GraphQLError('Your session has expired. Please sign in again.', 'UNAUTHENTICATED');
      }
      return rawGql(query, variables, session.accessToken);
    }
  }
  const SESSION_FIELDS = 'accessToken refreshToken expiresAt user { id email displayName role }';
  async function login(email, password) {
    const d = await rawGql(`mutation($in: LoginInput!) { login(input: $in) { ${SESSION_FIELDS} } }`,
      {in: {email, password}});
    setSession(d.login);
    return d.login;
  }
  async function register(email, password, displayName, role) {
    const d = await rawGql(`mutation($in: RegisterInput!) { register(input: $in) { ${SESSION_FIELDS} } }`,
      {in: {email, password, displayName, role}});
    setSession(d.register);
    return d.register;
  }
  async function logout() {
    const s = session;
    setSession(null);
    if (s && s.refreshToken) {
      try { await rawGql('mutation($r: String!) { logout(refreshToken: $r) }', {r: s.refreshToken}); } catch { /* gone anyway */ }
    }
  }

  // ---- the /ws room feed -------------------------------------------------------
  // Feed keeps one socket open, re-authenticates and re-joins its rooms after
  // every reconnect, and backs off (0.5 s doubling to 15 s, with jitter).
  class Feed {
    constructor(onFrame, onState) {
      this.onFrame = onFrame;
      this.onState = onState || (() => {});
      this.rooms = new Set();
      this.ws = null;
      this.backoff = 500;
      this.timer = null;
      this.pinger = null;
      this.connect();
      onSession(() => this.sendAuth());
    }
    connect() {
      clearTimeout(this.timer);
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      let ws;
      try { ws = new WebSocket(proto + '//' + location.host + '/ws'); } catch { this.retry(); return; }
      this.ws = ws;
      this.onState('connecting');
      ws.onopen = () => {
        this.backoff = 500;
        this.onState('open');
        this.sendAuth();
        for (const r of this.rooms) this.send({type: 'join', room: r});
        clearInterval(this.pinger);
        this.pinger = setInterval(() => this.send({type: 'ping'}), 20000);
      };
      ws.onmessage = ev => {
        let f;
        try { f = JSON.parse(ev.data); } catch { return; }
        if (f && typeof f === 'object') {
          if (f.serverTime) observeServerTime(f.serverTime);
          this.onFrame(f);
        }
      };
      ws.onclose = () => {
        clearInterval(this.pinger);
        if (this.ws === ws) { this.ws = null; this.retry(); }
      };
      ws.onerror = () => { /* onclose follows */ };
    }
    retry() {
      this.onState('reconnecting');
      const wait = this.backoff * (0.75 + Math.random() / 2);
      this.backoff = Math.min(this.backoff * 2, 15000);
      this.timer = setTimeout(() => this.connect(), wait);
    }
    send(frame) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
    }
    sendAuth() {
      if (session && session.accessToken) this.send({type: 'auth', token: session.accessToken});
    }
    join(room) {
      if (this.rooms.has(room)) return;
      this.rooms.add(room);
      this.send({type: 'join', room});
    }
    leave(room) {
      if (!this.rooms.delete(room)) return;
      this.send({type: 'leave', room});
    }
  }

  // ---- formatting and DOM -------------------------------------------------------
  const money = new Intl.NumberFormat('en-US', {style: 'currency', currency: 'USD'});
  const formatCents = c => money.format(Number(c) / 100);
  function formatDuration(ms) {
    const s = Math.max(0, Math.ceil(ms / 1000));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const two = n => String(n).padStart(2, '0');
    return (h ? h + ':' + two(m) : two(m)) + ':' + two(sec);
  }
  // el builds an element; text children become text nodes, never HTML.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  const $ = id => document.getElementById(id);
  function setText(id, text) { const e = $(id); if (e && e.textContent !== text) e.textContent = text; }
  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
  }
  const statusLabel = s => String(s || '').replace(/_/g, ' ');
  const clockTime = t => new Date(t).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit', second: '2-digit'});
  // shortID is the part of an order ID a person can read out: the last 6
  // characters of its unique part (a flash order's ID ends with its
  // event's ID, and a ULID starts with a timestamp that orders placed
  // together share).
  const shortID = id => String(id).replace(/^[a-z]+_/, '').split('_')[0].slice(-6).toUpperCase();

  return {gql, login, register, logout, getSession, setSession, onSession, serverNow, observeServerTime,
    Feed, formatCents, formatDuration, clockTime, shortID, el, $, setText, newKey, statusLabel, GraphQLError};
})();
