// prodsheets station: small conveniences. Every page works without this file.
"use strict";

// A scanner types into the focused box and presses Enter: select what is already there,
// so the next scan replaces it instead of being appended to it.
for (const box of document.querySelectorAll("input[data-scan]")) {
  box.addEventListener("focus", () => box.select());
}

// Say that something is happening (looking up an order takes a second or two), and
// never send a print form twice (a double click must not print two tickets).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.sent === "1" && form.hasAttribute("data-once")) {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
  for (const button of form.querySelectorAll("button[data-busy]")) {
    button.textContent = button.dataset.busy;
    button.setAttribute("aria-busy", "true");
  }
});

// Back/forward cache: a page shown again must accept a new submit.
window.addEventListener("pageshow", () => {
  for (const form of document.querySelectorAll("form[data-sent]")) delete form.dataset.sent;
});
