// Stripe's Payment Element (production): the card goes to Stripe in Stripe's frame; this page posts only
// the PaymentMethod id it gets back, and the server confirms the payment.
(() => {
  const mount = document.getElementById("payment-element");
  if (!mount || typeof Stripe === "undefined") return;
  const stripe = Stripe(mount.dataset.publishableKey, { locale: mount.dataset.locale });
  const elements = stripe.elements({
    mode: "payment",
    amount: Number(mount.dataset.amount),
    currency: mount.dataset.currency,
    paymentMethodCreation: "manual",
  });
  elements.create("payment").mount(mount);
  const form = document.getElementById("payment-form");
  const field = document.getElementById("payment-method-id");
  form.addEventListener("submit", async (event) => {
    if (field.value) return;
    event.preventDefault();
    const { error: invalid } = await elements.submit();
    if (invalid) return;
    const { error, paymentMethod } = await stripe.createPaymentMethod({ elements });
    if (error) { mount.setAttribute("aria-invalid", "true"); return; }
    field.value = paymentMethod.id;
    form.submit();
  });
})();
