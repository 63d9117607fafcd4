// The check-in screen's live count: ask the server every 5 seconds, show the numbers.
(function () {
  var script = document.currentScript;
  var url = script.getAttribute("data-url");
  function refresh() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (c) {
        if (!c) return;
        document.getElementById("checked-in").textContent = c.checked_in;
        document.getElementById("checked-out").textContent = c.checked_out;
        document.getElementById("confirmed").textContent = c.confirmed;
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }
  setInterval(refresh, 5000);
})();
