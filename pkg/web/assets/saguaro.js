// Saguaro pages: theme switch, keyboard shortcuts and drag-to-zoom.
// Every view lives in the URL, so zooming just loads the page with a new
// start and end: all graphs on it follow and the view can be bookmarked.
(function () {
  "use strict";
  var root = document.documentElement;
  // The chosen theme lives in a cookie so the server renders pages and
  // graph images in it; without one, follow the system preference.
  function cookieTheme() {
    var m = document.cookie.match(/(?:^|; )saguaro_theme=(dark|light)/);
    return m ? m[1] : "";
  }
  function graphImages(theme) {
    var imgs = document.querySelectorAll("img[src^='/api/v1/graphs/']");
    for (var i = 0; i < imgs.length; i++) {
      var u = new URL(imgs[i].getAttribute("src"), location.href);
      if (theme === "dark") { u.searchParams.set("theme", "dark"); } else { u.searchParams.delete("theme"); }
      var s = u.pathname + u.search;
      if (s !== imgs[i].getAttribute("src")) { imgs[i]._geom = null; imgs[i].setAttribute("src", s); }
    }
    var links = document.querySelectorAll(".exports a");
    for (var j = 0; j < links.length; j++) {
      var l = new URL(links[j].getAttribute("href"), location.href);
      if (theme === "dark") { l.searchParams.set("theme", "dark"); } else { l.searchParams.delete("theme"); }
      links[j].setAttribute("href", l.pathname + l.search);
    }
  }
  function setTheme(t) {
    root.dataset.theme = t;
    document.cookie = "saguaro_theme=" + t + "; Path=/; Max-Age=31536000; SameSite=Lax";
    graphImages(t);
  }
  if (!cookieTheme() && window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches) {
    setTheme("dark");
  }
  var themeBtn = document.getElementById("theme");
  if (themeBtn) {
    themeBtn.addEventListener("click", function () {
      var cur = root.dataset.theme ||
        (window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
      setTheme(cur === "dark" ? "light" : "dark");
    });
  }

  // Keyboard: / search, [ earlier, ] later, - zoom out, + zoom in.
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey || (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable))) { return; }
    var go = function (id) { var a = document.getElementById(id); if (a) { ev.preventDefault(); location.assign(a.href); } };
    if (ev.key === "/") { var q = document.getElementById("q"); if (q) { ev.preventDefault(); q.focus(); } }
    else if (ev.key === "[") { go("back"); }
    else if (ev.key === "]") { go("forward"); }
    else if (ev.key === "-") { go("zoomout"); }
    else if (ev.key === "+" || ev.key === "=") { go("zoomin"); }
  });

  // Drag across a graph to zoom into that time span. The image's JSON
  // export of the same view says where the plot area is and which times
  // its edges stand for.
  function geometry(img) {
    if (!img._geom) {
      var u = new URL(img.currentSrc || img.src, location.href);
      u.pathname = u.pathname.replace(/\.png$/, ".json");
      img._geom = fetch(u.toString(), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error("geometry " + r.status); } return r.json(); })
        .then(function (j) { return j.meta.geometry; });
    }
    return img._geom;
  }

  function zoomTo(from, to) {
    var u = new URL(location.href);
    u.searchParams.delete("range");
    u.searchParams.delete("page");
    u.searchParams.set("start", String(Math.floor(from)));
    u.searchParams.set("end", String(Math.ceil(to)));
    location.assign(u.toString());
  }

  function setupZoom(img) {
    img.draggable = false;
    img.title = "Drag across the graph to zoom in";
    var wrap = img.parentNode;
    var band = null, x0 = 0, dragging = false, moved = false;
    img.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0) { return; }
      ev.preventDefault();
      geometry(img).catch(function () {});
      dragging = true; moved = false;
      x0 = ev.clientX;
      img.setPointerCapture(ev.pointerId);
      if (!band) {
        band = document.createElement("div");
        band.className = "zoomband";
        document.body.appendChild(band);
      }
      var r = img.getBoundingClientRect();
      band.style.top = (r.top + window.scrollY) + "px";
      band.style.height = r.height + "px";
      band.style.left = (ev.clientX + window.scrollX) + "px";
      band.style.width = "0px";
      band.hidden = false;
    });
    img.addEventListener("pointermove", function (ev) {
      if (!dragging) { return; }
      var a = Math.min(x0, ev.clientX), b = Math.max(x0, ev.clientX);
      if (b - a > 4) { moved = true; }
      band.style.left = (a + window.scrollX) + "px";
      band.style.width = (b - a) + "px";
    });
    img.addEventListener("pointerup", function (ev) {
      if (!dragging) { return; }
      dragging = false;
      band.hidden = true;
      if (!moved) { return; }
      var r = img.getBoundingClientRect();
      var scale = img.naturalWidth ? img.naturalWidth / r.width : 1;
      var a = (Math.min(x0, ev.clientX) - r.left) * scale, b = (Math.max(x0, ev.clientX) - r.left) * scale;
      geometry(img).then(function (g) {
        var l = g.plot[0], w = g.plot[2];
        var t = function (px) {
          var f = Math.min(1, Math.max(0, (px - l) / w));
          return g.time_from + f * (g.time_to - g.time_from);
        };
        var from = t(a), to = t(b);
        if (to - from >= 60) { zoomTo(from, to); }
      }).catch(function () {});
    });
    // A drag must not also follow the link around the image.
    if (wrap && wrap.tagName === "A") {
      wrap.addEventListener("click", function (ev) { if (moved) { ev.preventDefault(); moved = false; } });
    }
  }
  var imgs = document.querySelectorAll("img.zoomable");
  for (var i = 0; i < imgs.length; i++) { setupZoom(imgs[i]); }
})();
