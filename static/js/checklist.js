// The inspection form on a phone: one tap marks a category's unanswered items as passed, and
// the location is recorded when the phone allows it. The form works without this file.
(function () {
  "use strict";
  var form = document.querySelector("form.inspection");
  if (!form) return;

  form.querySelectorAll("[data-all-pass]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var section = button.closest("section");
      section.querySelectorAll("fieldset.item").forEach(function (item) {
        var answered = item.querySelector('input[name$="-result"]:checked');
        var pass = item.querySelector('input[name$="-result"][value="pass"]');
        if (!answered && pass) pass.checked = true;
      });
    });
  });

  var lat = form.querySelector('input[name="latitude"]');
  var lon = form.querySelector('input[name="longitude"]');
  if (lat && lon && !lat.value && navigator.geolocation) {
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
      },
      function () { /* no permission or no fix: the inspection is valid without it */ },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 300000 }
    );
  }
})();
