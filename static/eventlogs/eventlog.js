// Event log page: log without reloading, keep every entry on this device until the server has it, and
// never lose what was typed. Progressive enhancement: without this file the form posts and redirects (the
// hidden idempotency key makes a resubmission harmless; instrument, station and cast survive the redirect).
//
// Every entry goes through the queue in localStorage: typed → queued (time stamped now) → sent to the API
// (/api/eventlogs/<id>/entries/, a JSON array, session + CSRF header) → removed only when the server has it
// (201, or 200 for a repeated key). A refused entry (400) stays, flagged with the server's error, until the
// person fixes and resends it or discards it. A 401/403 keeps the whole queue and asks to sign in again; a
// network failure or a 5xx keeps it and retries. The form's draft is kept too, so a reload or a crash loses
// nothing.
(function () {
  "use strict";
  var form = document.getElementById("el-form");
  if (!form || !window.fetch || !window.localStorage || !window.JSON) return;

  var QUEUE = "quayside-eventlog-queue-" + form.dataset.log;
  var DRAFT = "quayside-eventlog-draft-" + form.dataset.log;
  var FIELDS = ["instrument", "action", "station", "cast", "time", "latitude", "longitude", "comment"];
  var CLEARED = ["action", "comment", "time"]; // the rest stays for the next entry: casts come in runs
  var LABELS = { instrument: "Instrument", action: "Action", station: "Station", cast: "Cast",
    time: "Time (UTC)", latitude: "Latitude", longitude: "Longitude", comment: "Comment" };
  var BATCH = 100; // entries a request (the API takes up to 500)
  var vocab = JSON.parse(document.getElementById("el-vocab").textContent);
  var box = document.getElementById("el-queue");
  var statusLine = document.getElementById("el-queue-status");
  var pending = document.getElementById("el-pending");
  var said = document.getElementById("el-said");
  var rows = document.getElementById("el-rows");
  var keyInput = form.elements.idempotency_key;
  var csrf = form.elements.csrfmiddlewaretoken.value;
  var link = { sending: false, offline: false, signedOut: false, denied: "", problem: "" };

  // --- storage ---------------------------------------------------------------------------------------
  function pick(src) {
    var entry = {};
    FIELDS.concat(["idempotency_key"]).forEach(function (k) { if (src[k] !== undefined) entry[k] = src[k]; });
    return entry;
  }
  function load() {
    var raw;
    try { raw = JSON.parse(localStorage.getItem(QUEUE) || "[]"); } catch (e) { raw = []; }
    if (!Array.isArray(raw)) raw = [];
    // Queues written by the earlier page held the raw form fields: wrap them, never drop them.
    return raw.map(function (it) {
      return it && it.entry ? it : { key: it.idempotency_key || newKey(), entry: pick(it), error: null };
    });
  }
  function save(q) {
    try { localStorage.setItem(QUEUE, JSON.stringify(q)); } catch (e) { /* full: keep what we hold */ }
    render();
  }
  function update(key, change) { // change(item) on the stored item with this key; returns the item
    var q = load(), found = null;
    q.forEach(function (it) { if (it.key === key) { change(it); found = it; } });
    save(q);
    return found;
  }
  function remove(keys) { save(load().filter(function (it) { return keys.indexOf(it.key) < 0; })); }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(16) + Math.random().toString(16).slice(2);
  }
  function readCookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|;\\s*)" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }

  // --- the form and its draft -------------------------------------------------------------------------
  function fillActions(select, instrument, value) {
    // The chosen instrument's vocabulary (what the server accepts), "amendment" last.
    var actions = vocab[instrument] || [];
    select.textContent = "";
    select.appendChild(new Option("— choose —", ""));
    actions.forEach(function (a) { select.appendChild(new Option(a, a)); });
    if (value && actions.indexOf(value) < 0) select.appendChild(new Option(value + " (not in the vocabulary)", value));
    select.value = value || "";
  }
  function values(container) {
    var v = {};
    FIELDS.forEach(function (k) { var el = container.querySelector("[name=" + k + "]"); if (el) v[k] = el.value; });
    return v;
  }
  function saveDraft() { try { localStorage.setItem(DRAFT, JSON.stringify(values(form))); } catch (e) { /* full */ } }
  function restoreDraft() {
    var draft = null;
    try { draft = JSON.parse(localStorage.getItem(DRAFT) || "null"); } catch (e) { draft = null; }
    if (draft && draft.instrument && vocab[draft.instrument]) form.elements.instrument.value = draft.instrument;
    var action = draft ? draft.action : form.elements.action.value;
    fillActions(form.elements.action, form.elements.instrument.value, action);
    if (!draft) return;
    FIELDS.forEach(function (k) {
      if (k !== "instrument" && k !== "action" && draft[k] !== undefined) form.elements[k].value = draft[k];
    });
  }
  form.elements.instrument.addEventListener("change", function () {
    fillActions(form.elements.action, form.elements.instrument.value, "");
  });
  form.addEventListener("input", saveDraft);
  form.addEventListener("change", saveDraft);

  function say(text) { said.textContent = text; }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var entry = values(form);
    if (!entry.action) { say("Choose an action."); form.elements.action.focus(); return; }
    if (!entry.time || entry.time.trim().toLowerCase() === "now") entry.time = new Date().toISOString(); // when it happened, not when the link returns
    entry.idempotency_key = keyInput.value;
    var q = load();
    q.push({ key: entry.idempotency_key, entry: entry, error: null });
    save(q);
    keyInput.value = newKey();
    CLEARED.forEach(function (k) { form.elements[k].value = ""; });
    saveDraft();
    form.elements.action.focus();
    say("Logging " + entry.instrument + " " + entry.action + "…");
    flush();
  });

  // --- sending ----------------------------------------------------------------------------------------
  function flush() {
    if (link.sending || link.signedOut) return;
    var batch = load().filter(function (it) { return !it.error; }).slice(0, BATCH);
    if (!batch.length) { render(); return; }
    link.sending = true;
    render();
    var sent = batch.map(function (it) { return it.key; });
    send(batch, true).then(function (progressed) {
      link.sending = false;
      // Entries queued (or resent) while this request was out go next; after a failure, wait for the
      // link to return (the "online" event, the timer or "Send now") instead of hammering it.
      var more = load().some(function (it) { return !it.error && sent.indexOf(it.key) < 0; });
      if (link.signedOut) say("Kept on this device until you sign in again.");
      else if (link.offline || link.problem) say("Kept on this device; it goes out when the link returns.");
      render();
      if (!link.signedOut && !link.offline && !link.problem && (progressed || more)) flush();
    });
  }
  function send(batch, mayRetryToken) { // resolves to true when the server took at least one entry
    return fetch(form.dataset.api, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(batch.map(function (it) { return it.entry; }))
    }).then(function (r) {
      link.offline = false;
      if (r.status === 401 || r.status === 403) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          var fresh = readCookie(form.dataset.csrfCookie);
          if (mayRetryToken && fresh && fresh !== csrf) { csrf = fresh; return send(batch, false); } // signed in elsewhere: the token rotated
          link.signedOut = true;
          // "Only designated shipboard staff…" says something; "credentials not provided" or a CSRF failure does not.
          link.denied = r.status === 403 && body.detail && !/CSRF|credentials/i.test(body.detail) ? body.detail : "";
          return false;
        });
      }
      if (r.status !== 200) { link.problem = "The portal answered " + r.status + "; the entries are kept and sent again shortly."; return false; }
      link.problem = "";
      return r.json().then(function (body) { return apply(batch, body.results || []); });
    }, function () { link.offline = true; return false; })
      .catch(function () { // an answer that is not the API's (a satellite provider's login page, say)
        link.problem = "The portal's answer could not be read; the entries are kept and sent again shortly.";
        return false;
      });
  }
  function apply(batch, results) {
    var done = [], ids = [], refused = {};
    batch.forEach(function (it, i) {
      var res = results[i];
      if (!res) return; // no answer for it: stays queued
      if (res.status === 200 || res.status === 201) { done.push(it.key); ids.push(res.entry.event_id); showRow(res.entry, res.status === 201); }
      else if (res.status === 400) refused[it.key] = res.errors || { __all__: ["Refused."] };
    });
    var q = load().filter(function (it) { return done.indexOf(it.key) < 0; });
    q.forEach(function (it) { if (refused[it.key]) it.error = refused[it.key]; });
    save(q);
    if (ids.length) say(ids.length === 1 ? ids[0] + " logged." : ids.length + " entries logged (" + ids[0] + " to " + ids[ids.length - 1] + ").");
    return done.length > 0;
  }

  // --- the latest entries -----------------------------------------------------------------------------
  function cell(cls, text) { var td = document.createElement("td"); td.className = cls; td.textContent = text; return td; }
  function showRow(e, created) {
    if (rows.querySelector("tr[data-number='" + e.number + "']")) return; // a retry answered an entry already shown
    var none = rows.querySelector(".el-none");
    if (none) none.remove();
    var tr = document.createElement("tr");
    tr.dataset.number = e.number;
    if (e.amendment) tr.className = "cat-warn";
    tr.classList.add("el-new");
    var pos = e.latitude === null || e.latitude === undefined ? "" : e.latitude.toFixed(5) + ", " + e.longitude.toFixed(5);
    [cell("el-id", e.event_id), cell("el-time", e.time.replace("T", " ").slice(0, 19)), cell("el-inst", e.instrument),
      cell("el-act", e.action), cell("el-stn", e.station), cell("el-cast", e.cast), cell("el-pos", pos),
      cell("el-author", e.author), cell("el-comment", e.comment)].forEach(function (td) { tr.appendChild(td); });
    var before = null; // newest first
    Array.prototype.some.call(rows.querySelectorAll("tr[data-number]"), function (other) {
      if (Number(other.dataset.number) < e.number) { before = other; return true; }
      return false;
    });
    rows.insertBefore(tr, before);
    var all = rows.querySelectorAll("tr[data-number]"), recent = Number(form.dataset.recent) || 25;
    for (var i = recent; i < all.length; i++) all[i].remove();
    if (created) {
      var total = document.getElementById("el-total"), n = Number(total.dataset.total) + 1;
      total.dataset.total = n;
      total.textContent = n + (n === 1 ? " entry" : " entries");
    }
  }

  // --- the queue on screen ----------------------------------------------------------------------------
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function summary(entry) {
    return [entry.time ? entry.time.replace("T", " ").slice(0, 19) : "", entry.instrument, entry.action,
      entry.station, entry.comment].filter(Boolean).join(" · ");
  }
  function errorText(errors) {
    return Object.keys(errors).map(function (k) {
      var msgs = [].concat(errors[k]).join(" ");
      return LABELS[k] ? LABELS[k] + ": " + msgs : msgs;
    }).join(" ");
  }
  function refusedItem(it) {
    // The refused entry, editable where it stands: what the server said, its fields, Resend and Discard.
    var li = el("li", { "class": "el-refused", "data-key": it.key });
    li.appendChild(el("p", { "class": "el-error", role: "alert" }, "Refused: " + errorText(it.error)));
    var fields = el("div", { "class": "el-grid el-edit" });
    FIELDS.forEach(function (k) {
      var id = "el-edit-" + it.key + "-" + k, wrap = el("div", k === "comment" ? { "class": "el-wide" } : {});
      wrap.appendChild(el("label", { "for": id }, LABELS[k]));
      var input;
      if (k === "instrument") {
        input = el("select", { id: id, name: k });
        Object.keys(vocab).forEach(function (code) { input.appendChild(new Option(code, code)); });
        if (!vocab[it.entry.instrument]) input.appendChild(new Option(it.entry.instrument || "", it.entry.instrument || ""));
        input.value = it.entry.instrument || "";
      } else if (k === "action") {
        input = el("select", { id: id, name: k });
      } else if (k === "comment") {
        input = el("textarea", { id: id, name: k, rows: "2" });
        input.value = it.entry[k] || "";
      } else {
        input = el("input", { id: id, name: k, type: "text", autocomplete: "off" });
        input.value = it.entry[k] === null || it.entry[k] === undefined ? "" : it.entry[k];
      }
      if (it.error[k]) { input.setAttribute("aria-invalid", "true"); input.setAttribute("aria-describedby", "el-err-" + it.key); }
      wrap.appendChild(input);
      fields.appendChild(wrap);
    });
    li.firstChild.id = "el-err-" + it.key;
    li.appendChild(fields);
    var instrument = fields.querySelector("[name=instrument]"), action = fields.querySelector("[name=action]");
    fillActions(action, instrument.value, it.entry.action);
    instrument.addEventListener("change", function () { fillActions(action, instrument.value, ""); });
    function keep() { // what is typed here is kept in the queue as it is typed
      var v = values(fields);
      update(it.key, function (stored) { FIELDS.forEach(function (k) { stored.entry[k] = v[k]; }); });
    }
    fields.addEventListener("input", keep);
    fields.addEventListener("change", keep);
    var buttons = el("p", { "class": "el-edit-actions" });
    var resend = el("button", { type: "button", "class": "el-resend" }, "Resend");
    var discard = el("button", { type: "button", "class": "secondary el-discard" }, "Discard");
    resend.addEventListener("click", function () {
      keep();
      update(it.key, function (stored) { stored.error = null; });
      flush();
    });
    discard.addEventListener("click", function () {
      if (window.confirm("Discard this entry? It will not be logged: " + summary(it.entry))) remove([it.key]);
    });
    buttons.appendChild(resend);
    buttons.appendChild(discard);
    li.appendChild(buttons);
    return li;
  }
  function waitingItem(it) {
    return el("li", { "class": "el-waiting", "data-key": it.key }, summary(it.entry));
  }
  function render() {
    var q = load();
    var waiting = q.filter(function (it) { return !it.error; }).length, refused = q.length - waiting;
    // The list is reconciled item by item, so a refused entry being edited keeps its inputs and focus.
    var shown = {};
    Array.prototype.forEach.call(pending.children, function (li) { shown[li.dataset.key] = li; });
    q.forEach(function (it) {
      var sig = it.error ? "refused:" + JSON.stringify(it.error) : "waiting";
      var li = shown[it.key];
      delete shown[it.key];
      if (li && li.dataset.sig === sig) return;
      var fresh = it.error ? refusedItem(it) : waitingItem(it);
      fresh.dataset.sig = sig;
      if (li) pending.replaceChild(fresh, li); else pending.appendChild(fresh);
    });
    Object.keys(shown).forEach(function (k) { shown[k].remove(); });

    statusLine.textContent = "";
    var parts = [];
    if (link.signedOut) {
      statusLine.className = "notice el-signin";
      statusLine.appendChild(document.createTextNode(
        (link.denied ? link.denied + " " : "") + "Your session has ended. " + q.length + " entr" + (q.length === 1 ? "y is" : "ies are") +
        " kept on this device and sent when you are back. "));
      var a = el("a", { href: form.dataset.login, id: "el-signin" }, "Sign in again");
      statusLine.appendChild(a);
      box.hidden = false;
      return;
    }
    statusLine.className = "notice";
    if (waiting) {
      parts.push(waiting + " entr" + (waiting === 1 ? "y" : "ies") + (link.sending ? " sending…" :
        link.offline ? " waiting for the link; kept on this device and sent automatically." : " waiting."));
    }
    if (refused) parts.push(refused + " refused by the portal: fix and resend, or discard.");
    if (link.problem) parts.push(link.problem);
    statusLine.textContent = parts.join(" ");
    if (waiting && !link.sending) {
      var now = el("button", { type: "button", "class": "small secondary", id: "el-send-now" }, "Send now");
      now.addEventListener("click", flush);
      statusLine.appendChild(document.createTextNode(" "));
      statusLine.appendChild(now);
    }
    box.hidden = q.length === 0;
  }

  // --- position -----------------------------------------------------------------------------------------
  function setPosition(lat, lon) {
    form.elements.latitude.value = Number(lat).toFixed(5);
    form.elements.longitude.value = Number(lon).toFixed(5);
    saveDraft();
  }
  var device = document.getElementById("el-position");
  if (device && navigator.geolocation) {
    device.hidden = false;
    device.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (p) { setPosition(p.coords.latitude, p.coords.longitude); },
        function () { say("This device's position is not available."); }, { timeout: 10000, maximumAge: 60000 });
    });
  }
  var ship = document.getElementById("el-ship-position");
  if (ship && form.dataset.position) {
    ship.hidden = false;
    ship.addEventListener("click", function () {
      fetch(form.dataset.position, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (!res.ok) { say(res.body.error || "The ship's position is not available."); return; }
          setPosition(res.body.latitude, res.body.longitude);
          say("Ship's position" + (res.body.time ? " at " + res.body.time : "") + ".");
        }, function () { say("The ship's position is not available (no link to the portal)."); });
    });
  }

  // Another tab of this log changed the queue: show it.
  window.addEventListener("storage", function (ev) { if (ev.key === QUEUE) render(); });
  window.addEventListener("online", function () { link.offline = false; flush(); });
  // Back from signing in in another tab: try again (one request; a lapsed session just asks again).
  window.addEventListener("focus", function () { if (link.signedOut) { link.signedOut = false; flush(); } });
  setInterval(flush, 15000);
  restoreDraft();
  render();
  flush();
})();
