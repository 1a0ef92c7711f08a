// Live status of a submission: polls the JSON status endpoint with fetch() and updates the step table.
// Without JavaScript the page refreshes itself (meta refresh in <noscript>).
(function () {
  "use strict";
  var root = document.getElementById("submission-status");
  if (!root || root.dataset.finished === "1") return;
  var url = root.dataset.url;
  var cls = function (state) {
    return state === "failed" ? "state-error" : (state === "done" || state === "succeeded") ? "state-ok" : "state-warn";
  };
  function set(el, field, value) {
    var node = el.querySelector('[data-field="' + field + '"]');
    if (node && node.textContent !== String(value)) node.textContent = value;
    return node;
  }
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        var state = set(root, "state", data.state);
        if (state) state.className = cls(data.state);
        var error = set(root, "error", data.error || "");
        if (error) error.hidden = !data.error;
        data.steps.forEach(function (s) {
          var row = root.querySelector('[data-step="' + s.name + '"]');
          if (!row) return;
          var cell = set(row, "state", s.state);
          if (cell) cell.className = cls(s.state);
          set(row, "attempts", s.attempts);
          set(row, "message", s.message);
        });
        if (data.finished || data.awaiting_publication) { window.location.reload(); return; }
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
