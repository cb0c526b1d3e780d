// The admin page's small extras; every page works without them.
"use strict";

(() => {
  // "Select all" for the bulk moderation form: shown only when this script runs.
  for (const box of document.querySelectorAll("input[data-select-all]")) {
    const form = box.form;
    const picks = () => [...form.querySelectorAll('input[type="checkbox"][name="ids"]')];
    const sync = () => {
      const all = picks();
      const chosen = all.filter((pick) => pick.checked).length;
      box.checked = all.length > 0 && chosen === all.length;
      box.indeterminate = chosen > 0 && chosen < all.length;
    };
    box.closest("label").hidden = false;
    box.addEventListener("change", () => {
      for (const pick of picks()) pick.checked = box.checked;
      sync();
    });
    form.addEventListener("change", (event) => {
      if (event.target !== box) sync();
    });
    sync();
  }

  // Ask before deleting: the content of deleted comments is erased.
  for (const button of document.querySelectorAll('button[name="action"][value="delete"]')) {
    button.addEventListener("click", (event) => {
      const form = button.form;
      const count = form.querySelectorAll('input[name="ids"]:checked, input[type="hidden"][name="ids"]').length;
      if (count && !window.confirm(`Delete ${count} comment(s)? Their text is erased.`)) {
        event.preventDefault();
      }
    });
  }
})();
