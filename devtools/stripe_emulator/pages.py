"""The pages Stripe would host: Connect onboarding, the Express dashboard, and the card's 3-D Secure.

Plain HTML forms, no JavaScript and nothing loaded from elsewhere, so that a test (or a person) can go
through them with any HTTP client. An account link works for one visit, as Stripe's: the first GET
opens a session that the page's form carries back; any later visit, or one after five minutes, is sent
to the link's ``refresh_url``. A 3-D Secure page serves one attempt at confirming a PaymentIntent: once
it is answered (or the PaymentIntent confirmed again, or canceled) it sends the shopper back to the
``return_url`` with the outcome, as Stripe does. An invoice's ``hosted_invoice_url`` shows the invoice.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from html import escape
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from devtools.stripe_emulator import billing
from devtools.stripe_emulator.core import DASHBOARD, Backend
from devtools.stripe_emulator.errors import ApiError
from devtools.stripe_emulator.resources import accounts, payment_intents
from devtools.stripe_emulator.routing import WebRoute
from devtools.stripe_emulator.state import AuthenticationRecord, StripeObject

_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
body { color: #1a1f36; }
header { color: #635bff; font-weight: 600; margin-bottom: 1.5rem; }
dl { display: grid; grid-template-columns: max-content auto; gap: .25rem 1rem; }
dt { color: #697386; }
button { font: inherit; padding: .5rem 1rem; margin-right: .5rem; border-radius: 6px; }
button { border: 1px solid #635bff; }
button.primary { background: #635bff; color: white; }
.note { color: #697386; font-size: .9rem; }
"""


def onboarding(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    state = backend.state
    with state.lock:
        link = state.account_links.get(args["token"])
        if link is None:
            return _page("Link not found", "<p>This onboarding link does not exist.</p>", status=404)
        if link.finished or link.session is not None or state.now() > link.expires_at:
            return redirect(link.refresh_url, 302)
        if link.account not in state.accounts:
            return redirect(link.refresh_url, 302)
        account = state.accounts.get(link.account)
        link.session = secrets.token_urlsafe(16)
        due = account["requirements"]["currently_due"]
        body = f"""
<h1>Set up payouts for {escape(_display_name(account))}</h1>
{_summary(account)}
<h2>Information Stripe would ask for</h2>
{_list(due) if due else "<p>Nothing: the account already has everything it needs.</p>"}
<form method="post" action="/connect/onboarding/{escape(link.token)}">
  <input type="hidden" name="session" value="{escape(link.session)}">
  <button class="primary" type="submit" name="action" value="complete">Complete onboarding</button>
  <button type="submit" name="action" value="later">Leave for later</button>
</form>
<p class="note">Stripe emulator: completing submits the details and enables charges and payouts at once.</p>
"""
        return _page("Onboarding", body)


def submit_onboarding(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    state = backend.state
    with state.lock:
        link = state.account_links.get(args["token"])
        if link is None:
            return _page("Link not found", "<p>This onboarding link does not exist.</p>", status=404)
        session = request.form.get("session", "")
        if link.finished or link.session is None or not hmac.compare_digest(session, link.session):
            return redirect(link.refresh_url, 303)
        action = request.form.get("action")
        if action not in ("complete", "later"):
            return _page("Bad request", "<p>Choose one of the buttons.</p>", status=400)
        link.finished = True
        if action == "complete":
            now = state.now()
            try:
                accounts.change(
                    backend, link.account, lambda a: accounts.complete_onboarding(a, now), DASHBOARD
                )
            except ApiError:  # the account was deleted meanwhile
                return redirect(link.refresh_url, 303)
        return redirect(link.return_url, 303)


def express_dashboard(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    with backend.state.lock:
        if args["account"] not in backend.state.accounts:
            return _page("Account not found", "<p>No such account.</p>", status=404)
        account = backend.state.accounts.get(args["account"])
        due = account["requirements"]["currently_due"]
        capabilities = [f"{name}: {status}" for name, status in sorted(account["capabilities"].items())]
        body = f"""
<h1>Express dashboard</h1>
<h2>{escape(_display_name(account))}</h2>
{_summary(account)}
<h2>Capabilities</h2>
{_list(capabilities) if capabilities else "<p>None.</p>"}
<h2>Requirements</h2>
{_list(due) if due else "<p>Nothing due.</p>"}
<p class="note">Stripe emulator: balances and payouts are not shown here.</p>
"""
        return _page("Express dashboard", body)


def three_d_secure(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    state = backend.state
    with state.lock:
        record = state.authentications.get(args["token"])
        if record is None:
            return _page("Not found", "<p>This authentication page does not exist.</p>", status=404)
        intent = payment_intents.pending_authentication(backend, record.token)
        if intent is None:
            return _after_authentication(backend, record, 302)
        card = state.payment_methods.get(intent["payment_method"])["card"]
        rows: list[tuple[str, Any]] = [
            ("Amount", f"{intent['amount'] / 100:.2f} {intent['currency'].upper()}"),
            ("Description", intent["description"] or "—"),
            ("Card", f"{card['brand']} •••• {card['last4']}"),
            ("Payment", intent["id"]),
        ]
        body = f"""
<h1>3D Secure authentication</h1>
<dl>{"".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows)}</dl>
<form method="post" action="/3d_secure/{escape(record.token)}">
  <button class="primary" type="submit" name="action" value="complete">Authentifier · Complete</button>
  <button type="submit" name="action" value="fail">Échouer · Fail</button>
</form>
<p class="note">Stripe emulator: the card's bank would ask the cardholder to confirm here.</p>
"""
        return _page("3D Secure", body)


def submit_three_d_secure(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    state = backend.state
    with state.lock:
        record = state.authentications.get(args["token"])
        if record is None:
            return _page("Not found", "<p>This authentication page does not exist.</p>", status=404)
        action = request.form.get("action")
        if action not in ("complete", "fail"):
            return _page("Bad request", "<p>Choose one of the buttons.</p>", status=400)
        if payment_intents.pending_authentication(backend, record.token) is not None:
            payment_intents.authenticate(
                backend, record.payment_intent, success=action == "complete", request=DASHBOARD
            )
        return _after_authentication(backend, record, 303)


def _after_authentication(backend: Backend, record: AuthenticationRecord, code: int) -> Response:
    """Back to the shop with what became of the payment (``redirect_status``), as Stripe's redirect does."""
    intent = backend.state.payment_intents.get(record.payment_intent)
    status = intent["status"] if intent["status"] in ("succeeded", "processing") else "failed"
    if record.return_url is None:  # confirmed without return_url: nowhere to go back to
        outcome = "succeeded" if status == "succeeded" else "failed"
        return _page("3D Secure", f"<h1>Authentication over</h1><p>The payment {outcome}.</p>")
    query = {
        "payment_intent": intent["id"],
        "payment_intent_client_secret": intent["client_secret"],
        "redirect_status": status,
    }
    return redirect(_with_query(record.return_url, query), code)


def hosted_invoice(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    """The invoice as its customer would see it (read only: it is paid through the API here)."""
    state = backend.state
    with state.lock:
        invoice_id = state.billing.hosted_invoices.get(args["token"])
        if invoice_id is None or invoice_id not in state.invoices:
            return _page("Invoice not found", "<p>This invoice does not exist.</p>", status=404)
        invoice = state.invoices.get(invoice_id)
        currency = invoice["currency"]
        rows: list[tuple[str, Any]] = [
            ("Invoice", invoice["number"]),
            ("From", invoice["account_name"]),
            ("To", invoice["customer_name"] or invoice["customer_email"] or invoice["customer"]),
            ("Status", invoice["status"]),
            ("Amount due", billing.money(invoice["amount_due"], currency)),
            ("Amount paid", billing.money(invoice["amount_paid"], currency)),
            ("Amount remaining", billing.money(invoice["amount_remaining"], currency)),
        ]
        items = "".join(
            f"<tr><td>{escape(line['description'] or '')}</td>"
            f"<td>{_day(line['period']['start'])} – {_day(line['period']['end'])}</td>"
            f"<td>{escape(billing.money(line['amount'], currency))}</td></tr>"
            for line in invoice["lines"]["data"]
        )
        body = f"""
<h1>Invoice {escape(str(invoice["number"]))}</h1>
<dl>{"".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows)}</dl>
<table><tr><th>Description</th><th>Period</th><th>Amount</th></tr>{items}</table>
<p class="note">Stripe emulator: an open invoice is paid with
<code>POST /v1/invoices/{escape(invoice_id)}/pay</code>.</p>
"""
        return _page(f"Invoice {invoice['number']}", body)


def _day(moment: int) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%d")


def _with_query(url: str, query: dict[str, str]) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="&".join(filter(None, [parts.query, urlencode(query)]))))


ROUTES = [
    WebRoute("GET", "/connect/onboarding/<token>", onboarding),
    WebRoute("POST", "/connect/onboarding/<token>", submit_onboarding),
    WebRoute("GET", "/connect/express/<account>", express_dashboard),
    WebRoute("GET", "/3d_secure/<token>", three_d_secure),
    WebRoute("POST", "/3d_secure/<token>", submit_three_d_secure),
    WebRoute("GET", "/invoice/<token>", hosted_invoice),
]


def _display_name(account: StripeObject) -> str:
    return str(account["business_profile"]["name"] or account["email"] or account["id"])


def _summary(account: StripeObject) -> str:
    rows: list[tuple[str, Any]] = [
        ("Account", account["id"]),
        ("Email", account["email"] or "—"),
        ("Country", account["country"]),
        ("Details submitted", _yes_no(account["details_submitted"])),
        ("Charges", _yes_no(account["charges_enabled"], "enabled", "disabled")),
        ("Payouts", _yes_no(account["payouts_enabled"], "enabled", "disabled")),
    ]
    reason = account["requirements"]["disabled_reason"]
    if reason:
        rows.append(("Disabled because", reason))
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows) + "</dl>"


def _yes_no(value: bool, yes: str = "yes", no: str = "no") -> str:
    return yes if value else no


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li><code>{escape(item)}</code></li>" for item in items) + "</ul>"


def _page(title: str, body: str, status: int = 200) -> Response:
    html = f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · Stripe emulator</title><style>{_STYLE}</style></head>
<body>
<header>Stripe emulator</header>
{body}
</body>
</html>
"""
    return Response(html, status, mimetype="text/html")
