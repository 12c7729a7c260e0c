// flowd web UI: follows a running execution (logs over server-sent events, chart refreshed each second).
"use strict";
(function () {
  const root = document.getElementById("execution");
  if (!root) return;
  const lines = document.getElementById("log-lines");
  const status = document.getElementById("log-status");
  const empty = document.getElementById("no-logs");
  let refreshing = null;

  function terminal() {
    const live = document.getElementById("live");
    return live && live.dataset.terminal === "true";
  }

  function addLine(entry) {
    if (lines.querySelector('[data-id="' + entry.id + '"]')) return;
    const atBottom = lines.scrollTop + lines.clientHeight >= lines.scrollHeight - 8;
    const div = document.createElement("div");
    div.className = "line l-" + entry.level;
    div.dataset.id = entry.id;
    const parts = [["t", entry.time.replace("T", " ").replace(/\.\d+/, "").replace("Z", "")], ["lvl", entry.level],
                   ["task", entry.task || ""], ["msg", entry.message]];
    parts.forEach(function (part, i) {
      const span = document.createElement("span");
      span.className = part[0];
      span.textContent = part[1];  // text, never HTML: log lines are untrusted
      div.appendChild(span);
      if (i < parts.length - 1) div.appendChild(document.createTextNode(" "));
    });
    lines.appendChild(div);
    lines.hidden = false;
    if (empty) empty.hidden = true;
    if (atBottom) lines.scrollTop = lines.scrollHeight;
  }

  async function refresh() {
    try {
      const response = await fetch(root.dataset.liveUrl, { credentials: "same-origin" });
      if (!response.ok) return;
      const html = await response.text();
      const holder = document.createElement("div");
      holder.innerHTML = html;
      const fresh = holder.querySelector("#live");
      const live = document.getElementById("live");
      if (fresh && live) live.replaceWith(fresh);
    } catch (e) { /* the next tick tries again */ }
    if (terminal() && refreshing) { clearInterval(refreshing); refreshing = null; }
  }

  const finishedAtLoad = terminal();
  if (!finishedAtLoad) refreshing = setInterval(refresh, 1000);

  if (window.EventSource) {
    const source = new EventSource(root.dataset.streamUrl);
    source.addEventListener("log", function (event) { addLine(JSON.parse(event.data)); });
    source.addEventListener("end", function () {
      source.close();
      if (status) status.textContent = "";
      if (!finishedAtLoad) refresh();  // a page loaded finished has nothing to update (and keeps what is open)
    });
    source.onerror = function () { if (status && !terminal()) status.textContent = "reconnecting…"; };
  }
})();
// lists: "select all" (hidden without JavaScript: each row's box still works)
(function () {
  const all = document.getElementById("select-all");
  if (!all) return;
  all.hidden = false;
  const boxes = () => Array.from(document.querySelectorAll('#executions input[name="ids"]'));
  all.addEventListener("change", function () { boxes().forEach(function (b) { b.checked = all.checked; }); });
})();
// the logs page: a range ending now follows new lines (polling; the page itself works without this)
(function () {
  const box = document.getElementById("log-results");
  if (!box || !box.dataset.tailUrl) return;
  const hits = document.getElementById("log-hits");
  let last = parseInt(box.dataset.lastId || "0", 10);
  function line(entry) {
    const div = document.createElement("div");
    div.className = "line l-" + entry.level;
    div.dataset.id = entry.id;
    const time = document.createElement("span"); time.className = "t";
    time.textContent = entry.time.replace("T", " ").replace(/\.\d+/, "").replace("Z", "").slice(0, 19);
    const lvl = document.createElement("span"); lvl.className = "lvl"; lvl.textContent = entry.level;
    const link = document.createElement("a"); link.className = "exec";
    link.href = "/ui/executions/" + encodeURIComponent(entry.execution);
    link.textContent = entry.flow + "/" + entry.execution.slice(0, 8);
    const task = document.createElement("span"); task.className = "task"; task.textContent = entry.task || "";
    const msg = document.createElement("span"); msg.className = "msg"; msg.textContent = entry.message;
    [time, lvl, link, task, msg].forEach(function (part, i) {
      div.appendChild(part);
      if (i < 4) div.appendChild(document.createTextNode(" "));
    });
    return div;
  }
  async function poll() {
    try {
      const response = await fetch(box.dataset.tailUrl + "&after=" + last, { credentials: "same-origin" });
      if (response.ok) {
        const body = await response.json();
        body.lines.forEach(function (entry) {
          last = Math.max(last, entry.id);
          hits.insertBefore(line(entry), hits.firstChild);  // newest first
        });
        const none = document.getElementById("no-hits");
        if (none && body.lines.length) none.hidden = true;
      }
    } catch (e) { /* the next poll tries again */ }
    setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
})();
