// The folder drop zone: Uppy's Dashboard and its tus plugin against Quayside's tus endpoint.
// Every file is one tus upload; its path inside the dropped folder travels as the `relativePath`
// metadata, next to the target named by the page (e.g. {"delivery": "42"}). The browser session
// authenticates the requests, so each carries the CSRF token. Used by templates/uploads/_folder_upload.html.
(function () {
  "use strict";
  var CHUNK = 50 * 1024 * 1024; // one PATCH at most: nginx buffers each request before Django sees it

  function start(root) {
    if (typeof Uppy === "undefined") return;
    var meta = JSON.parse(document.getElementById(root.dataset.metadataId).textContent || "{}");
    var status = root.querySelector("[data-field=status]");
    var uppy = new Uppy.Uppy({ autoProceed: false, meta: meta });
    uppy.use(Uppy.Dashboard, {
      inline: true,
      target: root.querySelector(".folder-upload-dashboard"),
      fileManagerSelectionType: "both", // "browse files" and "browse folders"; a dropped folder keeps its tree
      showProgressDetails: true,
      proudlyDisplayPoweredByUppy: false,
      height: 360,
      width: "100%",
      note: "Drop files or whole folders: the paths inside the folder are kept.",
    });
    uppy.use(Uppy.Tus, {
      endpoint: root.dataset.endpoint,
      chunkSize: CHUNK,
      headers: { "X-CSRFToken": root.dataset.csrf },
      allowedMetaFields: ["name", "type", "relativePath"].concat(Object.keys(meta)),
      removeFingerprintOnSuccess: true,
      retryDelays: [0, 1000, 3000, 5000, 10000],
    });
    uppy.on("file-added", function (file) {
      // A file picked on its own has no folder: its path is its name.
      if (!file.meta.relativePath) uppy.setFileMeta(file.id, { relativePath: file.name });
    });
    uppy.on("complete", function (result) {
      var ok = result.successful ? result.successful.length : 0;
      var failed = result.failed ? result.failed.length : 0;
      status.textContent = ok + " uploaded" + (failed ? ", " + failed + " failed" : "") +
        ". The server stores them in the background: see your uploads for their state.";
      root.dataset.state = failed ? "failed" : "complete";
      root.dispatchEvent(new CustomEvent("folder-upload:complete", { bubbles: true, detail: result }));
    });
    root.uppy = uppy; // for the page (and tests) to reach
  }

  function init() {
    document.querySelectorAll("[data-folder-upload]").forEach(start);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
