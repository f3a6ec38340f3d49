// The refill, programming, prescription, double-check and readback forms: a form is sent once
// (the button is disabled once pressed, the server's idempotency key and version catch the rest),
// and a confirmation offered for a review is withdrawn as soon as an entry changes, until the
// changed entries are reviewed again; choosing a program's kind unfolds its entries.
"use strict";

// A page restored from the back/forward cache can be sent again (the server still records once).
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) {
    return;
  }
  for (const form of document.querySelectorAll("form[data-guided]")) {
    delete form.dataset.sent;
    for (const carried of form.querySelectorAll("input[data-carried]")) {
      carried.remove();
    }
    for (const button of form.querySelectorAll("button[data-pressed]")) {
      delete button.dataset.pressed;
      button.disabled = false;
    }
  }
});

// Choosing a program's kind unfolds its entries (flex: the step rows; single bolus: its dose and
// duration), as the page shown again with that kind has them open (prescription/program_fields).
document.addEventListener("change", (event) => {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement) || select.name !== "kind" || !select.form) {
    return;
  }
  for (const details of select.form.querySelectorAll("details[data-kind]")) {
    if (details instanceof HTMLDetailsElement && details.dataset.kind === select.value) {
      details.open = true;
    }
  }
});

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-guided]")) {
    form.addEventListener("submit", (event) => {
      const button = event.submitter;
      if (!button) {
        return;
      }
      if (form.dataset.sent === "yes") {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "yes";
      if (button.name) {
        const carried = document.createElement("input");
        carried.type = "hidden";
        carried.name = button.name;
        carried.value = button.value;
        carried.dataset.carried = "yes";
        form.appendChild(carried);
      }
      button.dataset.pressed = "yes";
      button.disabled = true;
    });
    const confirm = form.querySelector("button[data-confirm]");
    if (!confirm) {
      continue;
    }
    form.addEventListener("change", (event) => {
      const target = event.target;
      if (!(target instanceof HTMLElement) || target.matches("input[name^='override-']")) {
        return;
      }
      if (confirm.disabled) {
        return;
      }
      confirm.disabled = true;
      const note = document.createElement("p");
      note.className = "warning stale-note";
      note.setAttribute("role", "status");
      note.textContent = "An entry changed: review the refill again before confirming.";
      confirm.insertAdjacentElement("beforebegin", note);
    });
  }
});
