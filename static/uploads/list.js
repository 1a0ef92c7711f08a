// /uploads/: while any upload on the page is still receiving or being stored, ask GET /api/uploads/ every
// few seconds and update its progress and state (the rest of the page is server-rendered).
(function () {
  "use strict";
  var table = document.getElementById("uploads");
  if (!table) return;
  function live() { return table.querySelectorAll("tr[data-live='1']").length > 0; }
  function update(u) {
    var row = table.querySelector("tr[data-upload='" + u.id + "']");
    if (!row) return;
    var bar = row.querySelector("progress");
    bar.max = u.length || 1;
    bar.value = u.offset;
    row.querySelector("[data-field=bytes]").textContent =
      u.offset.toLocaleString("en") + " / " + u.length.toLocaleString("en") + " bytes";
    var state = row.querySelector("[data-field=state]");
    state.textContent = u.state_label + (u.error ? ": " + u.error : u.result ? ": " + u.result : "");
    var bad = u.state === "failed" || u.state === "expired" || u.state === "cancelled";
    state.className = "state-" + (bad ? "error" : u.state === "done" ? "ok" : "warn");
    row.dataset.live = ["receiving", "received", "placing"].indexOf(u.state) >= 0 ? "1" : "0";
  }
  function poll() {
    fetch(table.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        data.results.forEach(update);
        if (live()) window.setTimeout(poll, 3000);
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  if (live()) window.setTimeout(poll, 3000);
})();
