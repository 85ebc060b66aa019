// Small enhancements only: every page works without JavaScript.
document.addEventListener("click", (event) => {
  // Close the account menu when tapping outside it.
  for (const menu of document.querySelectorAll("details.account-menu[open]")) {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  }
});
