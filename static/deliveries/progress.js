// Live progress of an inventory: polls the delivery's API every 2 s while the worker runs, then reloads.
(function () {
  const box = document.getElementById("progress");
  if (!box || box.dataset.running !== "1") return;
  const size = (n) => {
    const units = ["bytes", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + " " + units[i];
  };
  const tick = async () => {
    try {
      const r = await fetch(box.dataset.url, { headers: { Accept: "application/json" } });
      const d = await r.json();
      const p = d.progress;
      document.getElementById("p-files").textContent = p.files_done;
      document.getElementById("p-files-total").textContent = p.files_total;
      document.getElementById("p-bytes").textContent = size(p.bytes_done);
      document.getElementById("p-bytes-total").textContent = size(p.bytes_total);
      document.getElementById("p-rate").textContent = p.bytes_per_second
        ? "· " + size(p.bytes_per_second) + "/s · " + p.seconds_left + " s left" : "";
      const bar = document.getElementById("p-bar");
      if (bar && p.percent !== null) bar.value = p.percent;
      document.getElementById("delivery-state").textContent = d.state;
      if (d.state === "inventoried" || d.state === "failed") { window.location.reload(); return; }
    } catch (e) { /* the next tick tries again */ }
    setTimeout(tick, 2000);
  };
  setTimeout(tick, 2000);
})();
