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
