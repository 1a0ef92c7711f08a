// Search page: draw the area on the map, fold the filters on a phone. Progressive enhancement only:
// without this file the Area field is typed and the filters stay open.
(function () {
  "use strict";

  var facets = document.getElementById("facets");
  if (facets && window.matchMedia("(max-width: 50rem)").matches) {
    facets.open = false; // on a phone the results come first; "Filters" opens them
  }

  var box = document.getElementById("bbox-map");
  var input = document.getElementById("bbox");
  if (!box || !input) {
    return;
  }
  var svg = box.querySelector("svg");
  var selection = box.querySelector(".bbox-selection");
  box.hidden = false;
  box.open = input.value.trim() !== "" && window.matchMedia("(min-width: 50rem)").matches;

  function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }
  function round(v) { return Math.round(v * 100) / 100; }

  // Screen point → map coordinates (viewBox units), then → longitude/latitude.
  function toMap(event) {
    var point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    var p = point.matrixTransform(svg.getScreenCTM().inverse());
    return { x: clamp(p.x, 0, 360), y: clamp(p.y, 0, 180) };
  }

  function show(x1, y1, x2, y2) {
    selection.setAttribute("x", Math.min(x1, x2));
    selection.setAttribute("y", Math.min(y1, y2));
    selection.setAttribute("width", Math.abs(x2 - x1));
    selection.setAttribute("height", Math.abs(y2 - y1));
    selection.setAttribute("visibility", "visible");
  }

  function drawFromInput() {
    var parts = input.value.split(",").map(Number);
    if (parts.length !== 4 || parts.some(isNaN) || parts[0] > parts[2] || parts[1] > parts[3]) {
      selection.setAttribute("visibility", "hidden");
      return;
    }
    show(parts[0] + 180, 90 - parts[3], parts[2] + 180, 90 - parts[1]);
  }

  var start = null;
  svg.addEventListener("pointerdown", function (event) {
    start = toMap(event);
    svg.setPointerCapture(event.pointerId);
    show(start.x, start.y, start.x, start.y);
    event.preventDefault();
  });
  svg.addEventListener("pointermove", function (event) {
    if (start) {
      var p = toMap(event);
      show(start.x, start.y, p.x, p.y);
    }
  });
  svg.addEventListener("pointerup", function (event) {
    if (!start) {
      return;
    }
    var end = toMap(event);
    var west = round(Math.min(start.x, end.x) - 180);
    var east = round(Math.max(start.x, end.x) - 180);
    var north = round(90 - Math.min(start.y, end.y));
    var south = round(90 - Math.max(start.y, end.y));
    start = null;
    if (east - west < 0.01 || north - south < 0.01) {
      drawFromInput(); // a click, not a drag: keep what was there
      return;
    }
    input.value = [west, south, east, north].join(",");
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
  input.addEventListener("change", drawFromInput);
  document.getElementById("bbox-clear").addEventListener("click", function () {
    input.value = "";
    drawFromInput();
  });
  drawFromInput();
})();
