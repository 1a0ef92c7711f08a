// The cruise page's track map (apps/navigation/templates/navigation/cruise_part.html). Data comes from the
// page's data attributes, one JSON block (flagged fixes) and the OGC API feature — no inline script (CSP).
// With no tile URL, or no tiles reachable, the track draws on the vendored Natural Earth land.
(function () {
  "use strict";
  var el = document.getElementById("track-map");
  if (!el || !window.L) { return; }
  var COLOURS = { green: "#1e8c3a", yellow: "#c98a00", red: "#c0392b" };
  var colour = COLOURS[el.dataset.rating] || "#0b5c8a";
  var wrap = el.dataset.antimeridian === "1";
  // Across the antimeridian the western longitudes are drawn east of 180, so the line stays continuous.
  function lon(x) { return wrap && x < 0 ? x + 360 : x; }
  function latlngs(coords) { return coords.map(function (c) { return [c[1], lon(c[0])]; }); }

  var map = L.map(el, { preferCanvas: true, worldCopyJump: false, attributionControl: true });
  map.setView([0, wrap ? 180 : 0], 2);
  var overlays = {};
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution || "", maxZoom: 18 }).addTo(map);
  }
  fetch(el.dataset.landUrl).then(function (r) { return r.json(); }).then(function (land) {
    var layer = L.geoJSON(land, {
      style: { color: "#8f9c86", weight: 0.6, fillColor: "#f6f4ec", fillOpacity: 1 },
      interactive: false,
      coordsToLatLng: function (c) { return L.latLng(c[1], c[0]); }
    }).addTo(map);
    if (wrap) { // a second copy east of 180 under a track drawn there
      L.geoJSON(land, {
        style: { color: "#8f9c86", weight: 0.6, fillColor: "#f6f4ec", fillOpacity: 1 },
        interactive: false,
        coordsToLatLng: function (c) { return L.latLng(c[1], c[0] + 360); }
      }).addTo(map);
    }
    layer.bringToBack();
    el.dataset.landDrawn = "1";
  }).catch(function () { el.dataset.landDrawn = "0"; });

  fetch(el.dataset.featureUrl, { headers: { Accept: "application/geo+json" } })
    .then(function (r) { return r.json(); })
    .then(function (feature) {
      var g = feature.geometry;
      var parts = g.type === "MultiLineString" ? g.coordinates : g.type === "LineString" ? [g.coordinates] : [[g.coordinates]];
      // One continuous line across the antimeridian: the split parts join again once unwrapped.
      var line = L.polyline(parts.map(latlngs), { color: colour, weight: 3 });
      var points = L.layerGroup();
      parts.forEach(function (part) {
        part.forEach(function (c) {
          L.circleMarker([c[1], lon(c[0])], { radius: 2, color: colour, weight: 1, fillOpacity: 0.8 }).addTo(points);
        });
      });
      line.addTo(map);
      points.addTo(map);
      overlays["Track (" + (el.dataset.rating || "unrated") + ")"] = line;
      overlays["Control points"] = points;
      var flagged = JSON.parse(document.getElementById("track-map-flagged").textContent || "[]");
      var flags = L.layerGroup();
      flagged.forEach(function (f) {
        L.circleMarker([f.lat, lon(f.lon)], { radius: 4, color: "#c0392b", weight: 1.5, fill: false })
          .bindTooltip((f.time || "") + " " + f.flags.join(", "))
          .addTo(flags);
      });
      flags.addTo(map);
      overlays["Flagged fixes (" + flagged.length + ")"] = flags;
      L.control.layers(null, overlays, { collapsed: false }).addTo(map);
      map.fitBounds(line.getBounds(), { padding: [20, 20], maxZoom: 8 });
      el.dataset.trackDrawn = String(parts.reduce(function (n, p) { return n + p.length; }, 0));
    })
    .catch(function () { el.dataset.trackDrawn = "0"; });
}());
