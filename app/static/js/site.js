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

// Product page: choosing a variant shows its price and stock at once (without JS, a button reloads).
for (const picker of document.querySelectorAll("form[data-variant-picker]")) {
  for (const button of picker.querySelectorAll("[data-no-js-only]")) button.hidden = true;
  picker.addEventListener("change", () => picker.submit());
}
