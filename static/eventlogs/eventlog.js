// Event log: keeps unsent entries in localStorage and retries them when the link comes back.
// Progressive enhancement: without this file the form posts normally (the hidden idempotency key
// still makes a resubmission harmless).
(function () {
  "use strict";
  var form = document.getElementById("el-form");
  if (!form || !window.fetch || !window.localStorage) return;
  var KEY = "quayside-eventlog-queue-" + form.dataset.log;
  var banner = document.getElementById("el-queue");
  var sending = false;

  function load() { try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; } }
  function save(q) { localStorage.setItem(KEY, JSON.stringify(q)); show(q); }
  function show(q) {
    banner.hidden = q.length === 0;
    banner.textContent = q.length + " entr" + (q.length === 1 ? "y" : "ies") + " waiting for the link; they are kept on this device and sent automatically.";
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(16) + Math.random().toString(16).slice(2);
  }
  function utcNow() { return new Date().toISOString(); }

  function sendAll() {
    if (sending) return;
    var q = load();
    if (!q.length) return;
    sending = true;
    var entry = q[0];
    var body = new URLSearchParams(entry);
    fetch(form.getAttribute("action") || location.pathname, // (form.action is the "action" field)
       { method: "POST", body: body, credentials: "same-origin", redirect: "follow",
      headers: { "X-CSRFToken": entry.csrfmiddlewaretoken } })
      .then(function (r) {
        sending = false;
        if (r.ok || r.status === 400 || r.status === 403) {
          // Accepted (or refused for good: the server's answer is final, so do not retry forever).
          save(load().filter(function (e) { return e.idempotency_key !== entry.idempotency_key; }));
          if (r.status === 400) {
            // Show the server's page: the form with this entry's values and what to fix.
            return r.text().then(function (html) { document.open(); document.write(html); document.close(); });
          }
          if (r.status !== 200) { alert("An entry was refused (" + r.status + "); check the log."); }
          if (load().length) { sendAll(); } else { location.replace(location.pathname + location.search); }
        }
      })
      .catch(function () { sending = false; show(load()); });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var data = {};
    new FormData(form).forEach(function (v, k) { data[k] = v; });
    if (!data.time) data.time = utcNow(); // the event happened now, not when the link returns
    var q = load(); q.push(data); save(q);
    form.querySelector("[name=idempotency_key]").value = newKey();
    ["action", "comment", "time"].forEach(function (n) { var el = form.elements[n]; if (el) el.value = ""; });
    sendAll();
  });

  // Offer only the chosen instrument's actions.
  var instrument = form.elements.instrument, list = document.getElementById("actions");
  var all = list ? Array.prototype.slice.call(list.querySelectorAll("option")) : [];
  function filterActions() {
    all.forEach(function (o) { o.disabled = !!(o.dataset.instrument && o.dataset.instrument !== instrument.value); if (o.disabled) o.remove(); else list.appendChild(o); });
  }
  if (instrument && list) { instrument.addEventListener("change", filterActions); filterActions(); }

  var pos = document.getElementById("el-position");
  if (pos && navigator.geolocation) {
    pos.hidden = false;
    pos.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (p) {
        form.elements.latitude.value = p.coords.latitude.toFixed(5);
        form.elements.longitude.value = p.coords.longitude.toFixed(5);
      }, function () { pos.textContent = "Position not available"; }, { timeout: 10000, maximumAge: 60000 });
    });
  }
  window.addEventListener("online", sendAll);
  setInterval(sendAll, 15000);
  show(load());
  sendAll();
})();
