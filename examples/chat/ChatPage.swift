/// The chat page: markup, style and script in one document, no framework. It joins a room
/// through the app's event stream, sends, edits and reacts through the app's API, and shows
/// which Meridian region serves it and every concurrent edit that was overwritten.
///
/// `window.chat` is the page's small script interface (the browser test drives it):
/// `send(text)`, `edit(key, text)`, `react(key, emoji)`, `messages` (key → value),
/// `conflicts`, `servedBy`, `delays` (for each message first seen, the milliseconds from
/// its page's send to its arrival here, with the region it came from) and `feedDelays`
/// (for each change, the milliseconds from its apply in the serving region to its arrival).
enum ChatPage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <title>Meridian chat</title>
    <style>
      body { font: 15px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
      header { background: #1d2330; color: #fff; padding: 10px 16px; display: flex; gap: 18px; align-items: baseline; }
      header h1 { font-size: 17px; margin: 0; }
      header .where b { color: #8fd3ff; }
      header .where.failover b.db { color: #ffb86b; }
      main { display: grid; grid-template-columns: 1fr 300px; gap: 16px; padding: 16px; }
      #controls { grid-column: 1 / 3; display: flex; gap: 8px; align-items: center; }
      #messages { list-style: none; padding: 0; margin: 0; background: #fff; border-radius: 8px; min-height: 320px; }
      .message { padding: 8px 12px; border-bottom: 1px solid #eceef2; }
      .message .author { font-weight: 600; margin-right: 6px; }
      .message .meta { color: #7a8191; font-size: 12px; margin-left: 6px; }
      .message .edited { color: #a15c00; font-size: 12px; margin-left: 6px; }
      .message .reactions span { background: #eef3ff; border-radius: 10px; padding: 0 6px; margin-right: 4px; font-size: 13px; }
      .message button { font-size: 12px; margin-left: 4px; }
      .message.conflicted { background: #fff6e8; }
      aside { background: #fff; border-radius: 8px; padding: 8px 12px; }
      aside h2 { font-size: 14px; margin: 4px 0 8px; }
      .conflict { font-size: 13px; border-left: 3px solid #ffb86b; padding: 4px 8px; margin-bottom: 6px; }
      #compose { grid-column: 1 / 2; display: flex; gap: 8px; }
      #compose input { flex: 1; padding: 6px; }
      #log { color: #7a8191; font-size: 12px; }
    </style>
    </head>
    <body>
    <header>
      <h1>Meridian chat</h1>
      <span class="where" id="where">app in <b id="app-region">?</b> · database region <b class="db" id="db-region">?</b></span>
      <span id="log"></span>
    </header>
    <main>
      <div id="controls">
        name <input id="user" size="10"> room <input id="room" size="10"> <button id="join">join</button>
      </div>
      <ul id="messages"></ul>
      <aside><h2>Concurrent edits overwritten</h2><div id="conflicts"></div></aside>
      <form id="compose"><input id="text" placeholder="message" autocomplete="off"><button>send</button></form>
    </main>
    <script>
    "use strict";
    const params = new URLSearchParams(location.search);
    const chat = { messages: new Map(), conflicts: [], delays: [], feedDelays: [], servedBy: null, appRegion: null, room: null, user: null };
    window.chat = chat;
    const $ = (id) => document.getElementById(id);
    let source = null;

    async function post(path, body) {
      const answer = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const reply = await answer.json();
      if (!answer.ok) throw new Error(reply.error || answer.status);
      return reply;
    }

    chat.send = (text) => post(`/api/rooms/${encodeURIComponent(chat.room)}/messages`, { author: chat.user, text, sentAt: Date.now() });
    chat.edit = (key, text) => post("/api/edit", { key, text, editor: chat.user });
    chat.react = (key, emoji) => post("/api/react", { key, emoji, user: chat.user });

    function reactionsOf(value) {
      const counts = {};
      for (const field of Object.keys(value || {})) {
        if (!field.startsWith("react:") || value[field] !== true) continue;
        const emoji = field.split(":")[1];
        (counts[emoji] = counts[emoji] || []).push(field.split(":").slice(2).join(":"));
      }
      return counts;
    }

    function render() {
      const list = $("messages");
      list.textContent = "";
      const keys = [...chat.messages.keys()].sort();
      for (const key of keys) {
        const message = chat.messages.get(key);
        const value = message.value;
        if (!value || typeof value !== "object") continue;
        const item = document.createElement("li");
        item.className = "message" + (chat.conflicts.some((c) => c.key === key) ? " conflicted" : "");
        item.dataset.key = key;
        item.dataset.fromRegion = value.fromRegion || "";
        const author = document.createElement("span"); author.className = "author"; author.textContent = value.author;
        const text = document.createElement("span"); text.className = "text"; text.textContent = value.text;
        const meta = document.createElement("span"); meta.className = "meta"; meta.textContent = `from ${value.fromRegion}`;
        item.append(author, text, meta);
        if (value.editedBy) {
          const edited = document.createElement("span"); edited.className = "edited";
          edited.textContent = `edited by ${value.editedBy} in ${value.editedIn}`;
          item.append(edited);
        }
        const reactions = document.createElement("span"); reactions.className = "reactions";
        for (const [emoji, users] of Object.entries(reactionsOf(value))) {
          const badge = document.createElement("span"); badge.dataset.emoji = emoji; badge.title = users.join(", ");
          badge.textContent = `${emoji} ${users.length}`;
          reactions.append(badge);
        }
        item.append(reactions);
        for (const emoji of ["👍", "🎉"]) {
          const button = document.createElement("button"); button.textContent = emoji;
          button.onclick = () => chat.react(key, emoji).catch(note);
          item.append(button);
        }
        const editButton = document.createElement("button"); editButton.textContent = "edit";
        editButton.onclick = () => { const next = prompt("edit message", value.text); if (next) chat.edit(key, next).catch(note); };
        item.append(editButton);
        list.append(item);
      }
      const conflicts = $("conflicts");
      conflicts.textContent = "";
      // The edit's bookkeeping fields (editedBy, editedIn) lose together with its text: one line per lost text.
      for (const row of chat.conflicts.filter((c) => !c.field || c.field === "text")) {
        const line = document.createElement("div"); line.className = "conflict"; line.dataset.key = row.key;
        const what = row.field ? `field “${row.field}”` : "the message";
        const lost = row.overwritten && typeof row.overwritten === "object" ? row.overwritten[row.field] ?? JSON.stringify(row.overwritten) : row.overwritten;
        line.textContent = `${what} of ${row.key.split("/")[1]}: “${lost}” (written in ${row.origin}) was overwritten by a concurrent edit`;
        conflicts.append(line);
      }
    }

    function note(text) { $("log").textContent = String(text); }

    function join() {
      chat.user = $("user").value || "anonymous";
      chat.room = $("room").value || "lobby";
      chat.messages.clear(); chat.conflicts = [];
      if (source) source.close();
      source = new EventSource(`/api/rooms/${encodeURIComponent(chat.room)}/events`);
      source.addEventListener("messages", (event) => {
        const data = JSON.parse(event.data);
        chat.messages.clear();
        for (const message of data.messages) chat.messages.set(message.key, message);
        render();
      });
      source.addEventListener("message", (event) => {
        const { message, appliedAt } = JSON.parse(event.data);
        const value = message.value;
        if (appliedAt) chat.feedDelays.push(Date.now() - appliedAt);
        if (!chat.messages.has(message.key) && value && value.sentAt) {
          chat.delays.push({ from: value.fromRegion, to: chat.appRegion, milliseconds: Date.now() - value.sentAt });
        }
        if (value === null) chat.messages.delete(message.key); else chat.messages.set(message.key, message);
        render();
      });
      source.addEventListener("conflict", (event) => { chat.conflicts.push(JSON.parse(event.data)); render(); });
      source.addEventListener("status", (event) => {
        const status = JSON.parse(event.data);
        if (status.servedBy) {
          chat.servedBy = status.servedBy;
          $("db-region").textContent = status.servedBy;
          $("where").classList.toggle("failover", status.servedBy !== chat.appRegion);
        }
        if (status.error) note(status.error);
      });
    }

    $("join").onclick = join;
    $("compose").onsubmit = (event) => {
      event.preventDefault();
      const text = $("text").value.trim();
      if (text) chat.send(text).then(() => { $("text").value = ""; }).catch(note);
    };
    fetch("/api/info").then((answer) => answer.json()).then((info) => {
      chat.appRegion = info.region;
      $("app-region").textContent = info.region;
      $("user").value = params.get("user") || `user-${Math.floor(Math.random() * 1000)}`;
      $("room").value = params.get("room") || "lobby";
      join();
    });
    </script>
    </body>
    </html>
    """#
}
