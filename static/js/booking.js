// Progressive enhancement for the booking pages: every page works fully without this script.
// With it: only fitting choices are offered, times update in place as choices change or dates are paged
// (focus stays on the control used), telehealth times also show the patient's own time when their zone
// differs from the clinic's, the error summary takes focus, and a second click cannot send the form twice.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  function words(text) { return text ? text.split(" ").filter(Boolean) : []; }

  // --- The patient's own time, for telehealth, when their zone is not the clinic's -----------------------
  var browserZone = "";
  try { browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { browserZone = ""; }

  function localText(iso, withDay) {
    var options = { hour: "numeric", minute: "2-digit", timeZone: browserZone };
    if (withDay) { options.weekday = "long"; options.day = "numeric"; options.month = "long"; }
    return new Intl.DateTimeFormat(undefined, options).format(new Date(iso));
  }

  function showLocalTimes(root) {
    root.querySelectorAll("time[data-local-time]").forEach(function (el) {
      var zone = el.getAttribute("data-clinic-tz");
      if (!browserZone || !zone || zone === browserZone || el.dataset.localShown) { return; }
      el.dataset.localShown = "1";
      var extra = document.createElement("span");
      extra.className = "local-time";
      extra.textContent = " (" + localText(el.getAttribute("datetime"), true) + " " +
        (el.dataset.yourTime || "your time") + ", " + browserZone + ")";
      el.insertAdjacentElement("afterend", extra);
    });
    var picker = root.querySelector(".picker[data-telehealth]");
    if (!picker) { return; }
    var zone = picker.getAttribute("data-clinic-tz");
    if (!browserZone || !zone || zone === browserZone) { return; }
    var note = picker.querySelector("[data-local-zone-note]");
    if (note) {
      note.textContent = (note.dataset.text || "After each time, in brackets: your own time") + " (" + browserZone + ").";
      note.hidden = false;
    }
    picker.querySelectorAll("[data-local-slot]").forEach(function (el) {
      el.textContent = " (" + localText(el.getAttribute("data-local-slot"), false) + ")";
    });
  }
  showLocalTimes(document);

  // --- The picker: paging and updates in place ---------------------------------------------------------
  var form = document.getElementById("booking-form") || document.querySelector("form[data-picker-form]");
  if (!form) { return; }
  var region = document.getElementById("picker-region");
  var pending = null;

  function choiceParams() {
    var params = new URLSearchParams();
    if (form.id !== "booking-form") { return params; }
    ["service", "location", "practitioner"].forEach(function (name) {
      var el = form.elements[name];
      if (el && el.value && !(name === "location" && visitType() === "telehealth")) { params.set(name, el.value); }
    });
    params.set("visit_type", visitType());
    return params;
  }

  function visitType() {
    var checked = form.querySelector("input[name=visit_type]:checked");
    return checked ? checked.value : "";
  }

  function loadTimes(from, focusId) {
    if (!region) { return; }
    var params = choiceParams();
    var chosen = form.querySelector("input[name=slot]:checked");
    if (chosen) { params.set("slot", chosen.value); }
    if (from) { params.set("from", from); }
    var url = form.dataset.fragmentUrl || form.dataset.timesUrl;
    url += (url.indexOf("?") === -1 ? "?" : "&") + params.toString();
    if (pending) { pending.abort(); }
    pending = new AbortController();
    region.setAttribute("aria-busy", "true");
    fetch(url, { signal: pending.signal, credentials: "same-origin" })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.text(); })
      .then(function (html) {
        region.innerHTML = html;
        enhancePicker();
        if (focusId) {
          // Keep focus on the control used: the same paging button, else its partner, else the first day.
          var target = document.getElementById(focusId) ||
            region.querySelector("[data-picker-page]") || region.querySelector("input[name=slot]");
          if (target) { target.focus(); }
        }
      })
      .catch(function () { /* keep what is shown; the buttons still work without the script */ })
      .finally(function () { region.removeAttribute("aria-busy"); });
  }

  function enhancePicker() {
    if (!region) { return; }
    showLocalTimes(region);
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest("[data-picker-page]");
    if (!button || !region) { return; }
    event.preventDefault();
    loadTimes(button.value, button.id);
  });

  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (form.dataset.sent) { event.preventDefault(); return; }
    if (button && !button.hasAttribute("formnovalidate") && button.name === "action") {
      form.dataset.sent = "1";
      button.setAttribute("aria-disabled", "true");
    }
  });

  if (form.id !== "booking-form") { return; }

  // --- The request form: only fitting choices ------------------------------------------------------------
  var service = form.elements.service;
  var locationField = document.getElementById("location-field");
  var visitNote = document.getElementById("visit-note");
  var practitionerNote = document.getElementById("practitioner-note");
  var refresh = document.getElementById("refresh-times");

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key] || ""; });
  }

  function serviceFit() {
    var option = service && service.options[service.selectedIndex];
    if (!option || !option.value) { return null; }
    return {
      name: option.textContent.trim(),
      visits: words(option.dataset.visits),
      practitioners: words(option.dataset.practitioners),
      locations: words(option.dataset.locations),
    };
  }

  function applyFits(changed) {
    var fit = serviceFit();
    var visit = visitType();
    // A service only offered one way: pick that way and say why the other is unavailable.
    var radios = form.querySelectorAll("input[name=visit_type]");
    var note = "";
    radios.forEach(function (radio) {
      radio.disabled = !!fit && fit.visits.indexOf(radio.value) === -1;
      if (radio.disabled && radio.checked) {
        radio.checked = false;
        var other = form.querySelector("input[name=visit_type]:not(:disabled)");
        if (other) { other.checked = true; }
      }
    });
    if (fit && fit.visits.length === 1) {
      note = fill(visitNote.dataset[fit.visits[0] === "telehealth" ? "onlyVideo" : "onlyClinic"] || "", { service: fit.name });
    }
    visitNote.textContent = note;
    visitNote.hidden = !note;
    visit = visitType();
    // Services: when a visit type is chosen, those not offered that way cannot be picked (except the current one).
    Array.prototype.forEach.call(service.options, function (option) {
      if (!option.value || option.selected) { option.disabled = false; return; }
      option.disabled = !!visit && words(option.dataset.visits).indexOf(visit) === -1;
    });
    if (locationField) { locationField.hidden = visit === "telehealth"; }
    var place = form.elements.location;
    if (place && fit && fit.locations.length) {
      Array.prototype.forEach.call(place.options, function (option) {
        option.disabled = fit.locations.indexOf(option.value) === -1;
      });
      if (place.options[place.selectedIndex] && place.options[place.selectedIndex].disabled) {
        var firstFree = Array.prototype.find.call(place.options, function (o) { return !o.disabled; });
        if (firstFree) { place.value = firstFree.value; }
      }
    }
    var person = form.elements.practitioner;
    var personNote = "";
    if (person) {
      var current = person.options[person.selectedIndex];
      Array.prototype.forEach.call(person.options, function (option) {
        option.disabled = !!fit && !!option.value && fit.practitioners.indexOf(option.value) === -1;
      });
      if (current && current.disabled) {
        personNote = fill(practitionerNote.dataset.switched || "", { name: current.textContent.trim(), service: fit.name });
        person.value = "";
      }
    }
    if (changed === "service" || changed === "practitioner" || !practitionerNote.textContent) {
      practitionerNote.textContent = personNote;
      practitionerNote.hidden = !personNote;
    }
  }

  function state() {
    return [service.value, visitType(), form.elements.practitioner ? form.elements.practitioner.value : "",
      form.elements.location ? form.elements.location.value : ""].join("|");
  }

  if (refresh) { refresh.hidden = true; }
  var before = state();
  applyFits("");
  if (state() !== before) { loadTimes("", null); }
  form.addEventListener("change", function (event) {
    var name = event.target.name;
    if (["service", "visit_type", "location", "practitioner"].indexOf(name) === -1) { return; }
    applyFits(name);
    loadTimes("", null);  // focus stays where it is: on the control just used
  });
})();
