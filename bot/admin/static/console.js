// Forms with data-confirm ask before they are sent (a file, not inline: the pages' CSP runs no inline script).
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}, true);
