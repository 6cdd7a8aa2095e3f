/* Staff console: the report map pin, answer templates, confirmations, the back button.
   No inline scripts: every page element is found by id or data attribute. */
(function () {
  "use strict";

  function initMap() {
    var el = document.getElementById("report-map");
    if (!el || typeof window.L === "undefined") return;
    var lat = parseFloat(el.dataset.lat);
    var lon = parseFloat(el.dataset.lon);
    if (!isFinite(lat) || !isFinite(lon)) return;
    var L = window.L;
    L.Icon.Default.imagePath = "/console/static/vendor/leaflet/images/";
    var map = L.map(el, { scrollWheelZoom: false }).setView([lat, lon], 16);
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, {
        maxZoom: 19,
        attribution: el.dataset.attribution || ""
      }).addTo(map);
    } else {
      el.classList.add("no-tiles");
    }
    L.marker([lat, lon]).addTo(map);
    el.dataset.ready = "true";
  }

  function initTemplates() {
    var select = document.getElementById("answer-template");
    if (!select) return;
    var target = document.getElementById(select.dataset.target);
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      var text = option && option.dataset.text;
      if (!text || !target) return;
      var current = target.value.trim();
      target.value = current ? current + "\n\n" + text : text;
      target.focus();
      select.selectedIndex = 0;
    });
  }

  function initConfirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  }

  function initBack() {
    document.querySelectorAll("[data-back]").forEach(function (button) {
      if (window.history.length < 2) return;
      button.hidden = false;
      button.addEventListener("click", function () { window.history.back(); });
    });
  }

  function init() {
    initMap();
    initTemplates();
    initConfirmations();
    initBack();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
