"""E-mail: one module for every message the marketplace sends.

``send()`` renders the message in the recipient's language while the request is still there (URLs,
translations) and enqueues its delivery after the transaction commits. Delivery goes through SMTP when
``SMTP_HOST`` is set, otherwise into ``instance/outbox/`` as ``.eml`` files that the development
mailbox page (``/dev/mailbox``) lists.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime as rfc2822_date
from email.utils import make_msgid, parseaddr, parsedate_to_datetime
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale
from jinja2 import TemplateNotFound

from app import jobs
from app.audit import services as audit
from app.audit.models import SentEmail
from app.database import utcnow


@dataclass(frozen=True)
class About:
    """What a message is about, kept in the log of e-mails sent: enough to render it again later."""

    order_id: int | None = None
    vendor_order_id: int | None = None
    refund_id: int | None = None

    @classmethod
    def of(cls, context: Mapping[str, object]) -> About:
        """By the templates' convention, an ``order`` in the context is the order the message is about."""
        order_id = getattr(context.get("order"), "id", None)
        return cls(order_id=order_id if isinstance(order_id, int) else None)


def send(
    to: str,
    subject: str,
    template: str,
    locale: str | None = None,
    *,
    about: About | None = None,
    headers: Mapping[str, str] | None = None,
    **context: object,
) -> SentEmail:
    """Render ``templates/mail/<template>.txt`` (and ``.html`` if it exists) and send it after commit;
    the message is logged (recipient, subject, template, ``about``), never its context.

    ``subject`` may be a lazy string: it is rendered in the recipient's ``locale``.
    """
    locale = locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        subject = str(subject)
        message = EmailMessage(policy=email.policy.SMTP)
        message["Subject"] = subject
        message["From"] = current_app.config["MAIL_FROM"]
        message["To"] = to
        message["Date"] = rfc2822_date(utcnow())
        message["Message-ID"] = make_msgid(
            domain=parseaddr(current_app.config["MAIL_FROM"])[1].split("@")[-1]
        )
        message["Content-Language"] = locale
        for name, value in (headers or {}).items():  # List-Unsubscribe and the like
            message[name] = value
        message.set_content(render_template(f"mail/{template}.txt", **context))
        try:
            html = render_template(f"mail/{template}.html", **context)
        except TemplateNotFound:
            html = None
        if html:
            message.add_alternative(html, subtype="html")
    jobs.enqueue(deliver, message.as_string(), queue="mail")
    return audit.record_email(to, subject, template, locale, **vars(about or About.of(context)))


def deliver(raw_message: str) -> None:
    """Job: hand one rendered message to SMTP, or write it to the outbox folder."""
    config = current_app.config
    if config["SMTP_HOST"]:
        import smtplib  # here: a web worker sends no mail (the mail queue's worker does)

        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=30) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["SMTP_USERNAME"]:
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
            message = BytesParser(policy=email.policy.SMTP).parsebytes(raw_message.encode())
            smtp.send_message(message)
        return
    outbox = Path(config["MAIL_OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    name = f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
    (outbox / name).write_text(raw_message, encoding="utf-8")


def backend_name() -> str:
    return "smtp" if current_app.config["SMTP_HOST"] else "outbox"


@dataclass(frozen=True)
class OutboxMessage:
    """A message written to the outbox folder, as the development mailbox shows it."""

    id: str
    to: str
    subject: str
    sent_at: dt.datetime
    text: str

    @classmethod
    def read(cls, path: Path) -> OutboxMessage:
        message = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
        body = message.get_body(preferencelist=("plain",))
        return cls(
            id=path.stem,
            to=str(message["To"]),
            subject=str(message["Subject"]),
            sent_at=parsedate_to_datetime(str(message["Date"])),
            text=body.get_content() if body else "",
        )


def outbox_messages() -> list[OutboxMessage]:
    """Messages in the outbox folder, newest first."""
    outbox = Path(current_app.config["MAIL_OUTBOX_DIR"])
    if not outbox.is_dir():
        return []
    return [OutboxMessage.read(path) for path in sorted(outbox.glob("*.eml"), reverse=True)]


def outbox_message(message_id: str) -> OutboxMessage | None:
    outbox = Path(current_app.config["MAIL_OUTBOX_DIR"])
    path = outbox / f"{message_id}.eml"
    # The id comes from a URL: accept only names that are files of the outbox itself.
    if path.parent != outbox or not path.is_file():
        return None
    return OutboxMessage.read(path)
