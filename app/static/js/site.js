// Small enhancements only: every page works without JavaScript.
document.addEventListener("click", (event) => {
  // Close the account menu when tapping outside it.
  for (const menu of document.querySelectorAll("details.account-menu[open]")) {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  }
});

// "Around me" on the shop directory: fill in the browser's position and submit.
for (const form of document.querySelectorAll("form[data-near-me]")) {
  const button = form.querySelector("[data-locate]");
  if (!button || !("geolocation" in navigator)) continue;
  button.hidden = false;
  button.addEventListener("click", () => {
    navigator.geolocation.getCurrentPosition((position) => {
      form.elements.lat.value = position.coords.latitude.toFixed(5);
      form.elements.lon.value = position.coords.longitude.toFixed(5);
      form.elements.depuis.value = "";
      form.submit();
    });
  });
}

// Delivery options: show an option's details only while it is ticked (all are shown without JavaScript).
for (const group of document.querySelectorAll("fieldset[data-reveal]")) {
  const toggle = group.querySelector("input[type=checkbox]");
  const details = group.querySelectorAll(".reveal");
  if (!toggle) continue;
  const update = () => details.forEach((element) => { element.hidden = !toggle.checked; });
  toggle.addEventListener("change", update);
  update();
}

// Cart: a delivery method's own question (the relay point, the pickup slot) shows only while that method is
// ticked, and is not sent otherwise (without JavaScript all show, and the server ignores what does not apply).
for (const group of document.querySelectorAll("fieldset[data-delivery-choice]")) {
  const details = group.querySelectorAll("[data-for-method]");
  const update = () => {
    const chosen = group.querySelector("input[name=method]:checked");
    details.forEach((element) => {
      const shown = chosen !== null && chosen.value === element.dataset.forMethod;
      element.hidden = !shown;
      element.querySelectorAll("select").forEach((select) => { select.disabled = !shown; });
    });
  };
  group.addEventListener("change", update);
  window.addEventListener("pageshow", update); // the browser may restore a ticked method on "back"
  update();
}

// Product page: choosing a variant shows its price and stock at once (without JS, a button reloads).
for (const picker of document.querySelectorAll("form[data-variant-picker]")) {
  for (const button of picker.querySelectorAll("[data-no-js-only]")) button.hidden = true;
  picker.addEventListener("change", () => picker.submit());
}

// Search page: a changed sort or radius applies at once (without JS, the "Appliquer" button does it).
for (const form of document.querySelectorAll("form[data-autosubmit]")) {
  for (const select of form.querySelectorAll("select")) select.addEventListener("change", () => form.submit());
}

// Header search box: categories, shops, words and titles completing what is typed, from
// /recherche/suggestions (a combobox); choosing one opens its link (a category, a storefront, a search).
for (const form of document.querySelectorAll("form.search-box")) {
  const input = form.querySelector("input[type=search]");
  if (!input) continue;
  const list = document.createElement("ul");
  list.className = "autocomplete";
  list.id = `${input.id}-suggestions`;
  list.setAttribute("role", "listbox");
  list.hidden = true;
  form.append(list);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("aria-expanded", "false");
  let timer = null;
  let active = -1;
  let controller = null;

  const close = () => {
    list.hidden = true;
    list.replaceChildren();
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  };
  const choose = (suggestion) => {
    // A search fills the box with what it searches; a category or a shop is a page of its own.
    if (suggestion.kind === "word" || suggestion.kind === "product") input.value = suggestion.text;
    close();
    window.location.assign(suggestion.url);
  };
  let shown = [];
  const highlight = (index) => {
    const items = list.querySelectorAll("li");
    items.forEach((item, i) => item.setAttribute("aria-selected", String(i === index)));
    active = index;
    if (items[index]) input.setAttribute("aria-activedescendant", items[index].id);
  };
  const show = (suggestions) => {
    list.replaceChildren();
    shown = suggestions;
    suggestions.forEach((suggestion, index) => {
      const item = document.createElement("li");
      item.id = `${list.id}-${index}`;
      item.setAttribute("role", "option");
      item.dataset.kind = suggestion.kind;
      item.append(suggestion.text);
      if (suggestion.kind !== "word") {
        const kind = document.createElement("span");
        kind.className = "autocomplete__kind";
        kind.textContent = suggestion.label;
        item.append(" ", kind);
      }
      item.addEventListener("mousedown", (event) => { event.preventDefault(); choose(suggestion); });
      list.append(item);
    });
    list.hidden = suggestions.length === 0;
    input.setAttribute("aria-expanded", String(suggestions.length > 0));
    active = -1;
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const prefix = input.value.trim();
    if (prefix.length < 2) { close(); return; }
    timer = setTimeout(async () => {
      if (controller) controller.abort();
      controller = new AbortController();
      try {
        const response = await fetch(`${form.dataset.suggestions}?q=${encodeURIComponent(prefix)}`,
          { signal: controller.signal, headers: { Accept: "application/json" } });
        if (!response.ok) { close(); return; }
        const data = await response.json();
        if (input.value.trim() === prefix) show(data.suggestions || []);
      } catch (error) {
        if (error.name !== "AbortError") close();
      }
    }, 150);
  });
  input.addEventListener("keydown", (event) => {
    const count = list.querySelectorAll("li").length;
    if (list.hidden || !count) return;
    if (event.key === "ArrowDown") { event.preventDefault(); highlight((active + 1) % count); }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight((active - 1 + count) % count); }
    else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(shown[active]); }
    else if (event.key === "Escape") { close(); }
  });
  input.addEventListener("blur", () => setTimeout(close, 100));
}

// Search filters fold away on phones, so results come first (without JavaScript they stay open).
if (window.matchMedia("(max-width: 47.99rem)").matches) {
  for (const filters of document.querySelectorAll("details.filters[open]")) filters.removeAttribute("open");
}

// A payment button answers one click: the server pays once anyway, this spares a second wait.
for (const button of document.querySelectorAll("button[data-once]")) {
  button.form.addEventListener("submit", () => {
    setTimeout(() => { button.disabled = true; button.setAttribute("aria-busy", "true"); }, 0);
  });
}

// Checkout: choosing a saved address fills the address fields (they stay editable).
for (const select of document.querySelectorAll("select[data-fills-address]")) {
  select.addEventListener("change", () => {
    const chosen = select.selectedOptions[0];
    if (!chosen || chosen.value === "0") return;
    for (const name of ["full_name", "phone", "street", "postcode", "city", "country"]) {
      const field = select.form.elements.namedItem(name);
      if (field && chosen.dataset[name] !== undefined) field.value = chosen.dataset[name];
    }
  });
}
