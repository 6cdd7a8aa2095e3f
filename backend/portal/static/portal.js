/* Public portal: the report's small map and the map of all published reports.
   No inline scripts; elements are found by id, settings come from data attributes. */
(function () {
  "use strict";

  function baseMap(el, lat, lon, zoom) {
    var L = window.L;
    L.Icon.Default.imagePath = el.dataset.leaflet + "/images/";
    var map = L.map(el, { scrollWheelZoom: false }).setView([lat, lon], zoom);
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, {
        maxZoom: 19,
        attribution: el.dataset.attribution || ""
      }).addTo(map);
    } else {
      el.classList.add("no-tiles");
    }
    return map;
  }

  function reportMap() {
    var el = document.getElementById("report-map");
    if (!el || typeof window.L === "undefined") return;
    var lat = parseFloat(el.dataset.lat);
    var lon = parseFloat(el.dataset.lon);
    if (!isFinite(lat) || !isFinite(lon)) return;
    var map = baseMap(el, lat, lon, 16);
    window.L.marker([lat, lon]).addTo(map);
    el.dataset.ready = "true";
  }

  function popup(m) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = m.url;
    link.textContent = m.title;
    var meta = document.createElement("div");
    meta.textContent = m.category + " · " + m.status;
    box.appendChild(link);
    box.appendChild(meta);
    return box;
  }

  function publicMap() {
    var el = document.getElementById("public-map");
    var status = document.getElementById("map-status");
    if (!el || typeof window.L === "undefined") return;
    var map = baseMap(el, 10.25, 105.97, 11);
    fetch(el.dataset.source, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var points = [];
        data.markers.forEach(function (m) {
          window.L.marker([m.lat, m.lon]).addTo(map).bindPopup(popup(m));
          points.push([m.lat, m.lon]);
        });
        if (points.length) map.fitBounds(points, { maxZoom: 16, padding: [20, 20] });
        status.textContent = points.length
          ? points.length + " phản ánh có vị trí" + (data.truncated ? " (mới nhất)" : "") + "."
          : "Chưa có phản ánh nào có vị trí.";
        el.dataset.ready = "true";
      })
      .catch(function () { status.textContent = "Không tải được bản đồ, vui lòng thử lại."; });
  }

  reportMap();
  publicMap();
})();
