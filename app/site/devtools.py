"""Development-only pages (never registered in production): the mailbox of ``instance/outbox``."""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template
from markupsafe import Markup, escape

from app import mail

blueprint = Blueprint("dev", __name__, url_prefix="/dev")

URL_PATTERN = re.compile(r"https?://[^\s<>\"']+")
# The outbox names its files "<timestamp>-<hex>"; anything else (a 120-character or unicode name the
# file system refuses, a path) is no message.
MESSAGE_ID = re.compile(r"[0-9A-Za-z-]{1,64}")


def _linkify(text: str) -> Markup:
    """Escape a plain-text mail body and make its links clickable."""
    escaped = str(escape(text))
    return Markup(URL_PATTERN.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped))  # noqa: S704


@blueprint.route("/mailbox")
def mailbox() -> str:
    return render_template("dev/mailbox.html", messages=mail.outbox_messages())


@blueprint.route("/mailbox/<message_id>")
def mailbox_message(message_id: str) -> str:
    message = mail.outbox_message(message_id) if MESSAGE_ID.fullmatch(message_id) else None
    if message is None:
        abort(404)
    return render_template("dev/message.html", message=message, body=_linkify(message.text))
