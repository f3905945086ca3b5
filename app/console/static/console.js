// The audit explorer's quick ranges: fill "Since" and search. Nothing else
// runs in the page (the Content-Security-Policy allows only this file).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("filters");
  if (!form) {
    return;
  }
  form.querySelectorAll("button[data-since]").forEach(function (button) {
    button.addEventListener("click", function () {
      form.elements.namedItem("since").value = button.getAttribute("data-since");
      form.elements.namedItem("until").value = "";
      form.submit();
    });
  });
});

// A sign-in link (`trent console login`): the token is in the fragment,
// which never reaches the server. Take it out of the address bar, then sign
// in (on load, or when only the fragment changed on this page).
function signInFromLink() {
  var form = document.getElementById("sign-in");
  var hash = window.location.hash;
  if (!form || hash.indexOf("#login=") !== 0) {
    return;
  }
  window.history.replaceState(null, "", window.location.pathname);
  form.elements.namedItem("token").value = decodeURIComponent(hash.slice(7));
  form.elements.namedItem("link").value = "1";
  form.submit();
}
document.addEventListener("DOMContentLoaded", signInFromLink);
window.addEventListener("hashchange", signInFromLink);
