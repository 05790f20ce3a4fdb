// The room chat panel of the live-room page: the snapshot's last messages,
// live chat and chat_deleted frames, and a form that sends a /ws chat frame
// (signed in). app.js hands it every frame (FLChat.onFrame) and the feed.
'use strict';

(() => {
  const {$, el} = FL;
  const state = {feed: null, room: null, refs: 0};

  function list() { return $('chat-list'); }

  function show(m) {
    if (document.getElementById('chat-' + m.id)) return;
    const li = el('li', {class: 'chat-line', id: 'chat-' + m.id, 'data-id': m.id, 'data-author': m.author.id},
      el('strong', {class: 'chat-author'}, m.author.displayName), ' ', el('span', {class: 'chat-text'}, m.text));
    list().append(li);
    while (list().children.length > 200) list().firstElementChild.remove();
    list().scrollTop = list().scrollHeight;
  }

  function note(text) { $('chat-message').textContent = text; }

  // onFrame takes the chat's frames (and reads the snapshot's chat); it
  // reports whether the frame was the chat's alone.
  function onFrame(f, roomId) {
    if (f.room && f.room !== roomId) return false;
    switch (f.type) {
    case 'snapshot':
      if (state.room !== roomId) { list().replaceChildren(); state.room = roomId; }
      for (const m of f.chat || []) show(m);
      $('chat').hidden = false;
      return false;
    case 'chat':
      show(f);
      if (f.ref) { $('chat-text').value = ''; note(''); }
      return true;
    case 'chat_deleted': {
      const e = document.getElementById('chat-' + f.id);
      if (e) e.remove();
      return true;
    }
    case 'error':
      if (f.ref && String(f.ref).startsWith('c')) {
        note(f.code === 'RATE_LIMITED' ? 'Slow down: try again in ' + Math.ceil((f.retryAfterMs || 1000) / 1000) + ' s.' : f.message);
        return true;
      }
      return false;
    }
    return false;
  }

  function send(ev) {
    ev.preventDefault();
    const text = $('chat-text').value;
    if (!state.room || !text.trim()) return;
    const s = FL.getSession();
    if (!s || !s.accessToken) { note('Sign in to chat.'); return; }
    state.feed.send({type: 'chat', room: state.room, text, ref: 'c' + (++state.refs)});
  }

  window.FLChat = {
    init(feed) {
      state.feed = feed;
      $('chat-form').addEventListener('submit', send);
    },
    onFrame,
  };
})();
