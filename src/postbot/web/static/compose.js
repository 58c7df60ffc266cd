// The composer's counts, as one types: the server's own preview (POST /compose/counts) after a
// pause of 150 ms, and the submit button disabled while a text does not fit every account.
// Without JavaScript the form works as well: "Check counts" asks for the same preview, and the
// server refuses a text that is too long when it is submitted.
(function () {
  "use strict";
  var form = document.getElementById("compose");
  if (!form) { return; }
  var counts = document.getElementById("counts");
  var submit = document.getElementById("submit");
  var check = document.getElementById("check");
  var timer = null;
  var sent = 0;

  function fits() {
    var marked = counts.querySelector("[data-fits]");
    return marked !== null && marked.getAttribute("data-fits") === "true";
  }

  function update() {
    var mine = ++sent;
    var body = new URLSearchParams(new FormData(form));
    form.setAttribute("aria-busy", "true");
    fetch("/compose/counts", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        if (mine !== sent) { return; }  // a newer request is on its way
        counts.innerHTML = html;
        submit.disabled = !fits();
        form.removeAttribute("aria-busy");
      })
      .catch(function () {
        if (mine !== sent) { return; }
        // The counts could not be had (session expired?): the server still checks on submit.
        counts.innerHTML = '<p class="hint">The counts could not be updated: reload the page.</p>';
        submit.disabled = false;
        form.removeAttribute("aria-busy");
      });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(update, 150);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.addEventListener("submit", function (event) {
    if (event.submitter === submit && submit.disabled) { event.preventDefault(); }
  });
  if (check) { check.hidden = true; }
  update();
})();
