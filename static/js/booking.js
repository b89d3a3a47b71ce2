// Progressive enhancement for the booking form: the page works fully without this script.
// With it, times update as choices change, the location field hides for telehealth,
// the error summary takes focus, and a second click cannot send the form twice.
(function () {
  "use strict";
  var form = document.getElementById("booking-form");
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  if (!form) { return; }

  var region = document.getElementById("picker-region");
  var refresh = document.getElementById("refresh-times");
  var locationField = document.getElementById("location-field");

  function hideNoJs() {
    form.querySelectorAll("[data-nojs-only]").forEach(function (el) { el.hidden = true; });
  }

  function visitType() {
    var checked = form.querySelector("input[name=visit_type]:checked");
    return checked ? checked.value : "";
  }

  function toggleLocation() {
    if (locationField) { locationField.hidden = visitType() === "telehealth"; }
  }

  var pending = null;
  function updateTimes() {
    var params = new URLSearchParams();
    ["service", "location", "practitioner", "date"].forEach(function (name) {
      var el = form.elements[name];
      if (el && el.value) { params.set(name, el.value); }
    });
    params.set("visit_type", visitType());
    var chosen = form.querySelector("input[name=slot]:checked");
    if (chosen) { params.set("slot", chosen.value); }
    if (pending) { pending.abort(); }
    pending = new AbortController();
    region.setAttribute("aria-busy", "true");
    fetch(form.dataset.timesUrl + "?" + params.toString(), { signal: pending.signal, credentials: "same-origin" })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.text(); })
      .then(function (html) { region.innerHTML = html; hideNoJs(); })
      .catch(function () { /* keep the server-rendered picker; the refresh button still works */ })
      .finally(function () { region.removeAttribute("aria-busy"); });
  }

  if (refresh) { refresh.hidden = true; }
  hideNoJs();
  toggleLocation();
  form.addEventListener("change", function (event) {
    var name = event.target.name;
    if (name === "visit_type") { toggleLocation(); }
    if (["service", "visit_type", "location", "practitioner", "date"].indexOf(name) !== -1) { updateTimes(); }
  });
  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (form.dataset.sent) { event.preventDefault(); return; }
    if (button && button.value === "submit") { form.dataset.sent = "1"; button.setAttribute("aria-disabled", "true"); }
  });
})();
