"""File uploads: ``POST /v1/files`` (multipart) and ``GET /v1/files``, ``GET /v1/files/{id}``.

Only the purpose ``dispute_evidence`` is emulated, with Stripe's rules for it: a PDF, JPEG or PNG (told by
its first bytes, not its name) of 5 MB at most. The File has Stripe's shape (``file_...``, ``size``,
``type``, ``filename``, ``purpose``); its ``url`` is null: the emulator serves no contents. A dispute's
file evidence fields must name files uploaded here (``resources/disputes.py``).
"""

from __future__ import annotations

from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.errors import missing_param
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import StripeObject, new_id

PURPOSES = ("dispute_evidence",)
MAX_BYTES = {"dispute_evidence": 5 * 1024 * 1024}
# Stripe's ``type`` of a file, from its first bytes.
SIGNATURES = (
    (b"%PDF-", "pdf"),
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
)
ALLOWED_TYPES = {"dispute_evidence": ("pdf", "jpg", "png")}
EXPIRES_AFTER = 365 * 86400  # Stripe keeps dispute evidence files a year


def file_type(content: bytes) -> str | None:
    """Stripe's name of the file's type, or None for one it does not recognise."""
    return next((name for magic, name in SIGNATURES if content.startswith(magic)), None)


def create(call: ApiCall) -> StripeObject:
    params = call.params
    state = call.backend.state
    p.check_known(params, ("purpose", "file_link_data", "expand"))
    purpose = p.string(params, "purpose", required=True) or ""
    if purpose not in PURPOSES:
        raise p.invalid_param("purpose", f"Invalid purpose: must be one of {', '.join(PURPOSES)}")
    if "file" not in call.uploads:
        raise missing_param("file")
    filename, content = call.uploads["file"]
    if not content:
        raise p.invalid_param("file", "The file is empty.")
    if len(content) > MAX_BYTES[purpose]:
        raise p.invalid_param(
            "file", f"Files with purpose {purpose} must be {MAX_BYTES[purpose]} bytes or smaller."
        )
    kind = file_type(content)
    if kind not in ALLOWED_TYPES[purpose]:
        allowed = ", ".join(ALLOWED_TYPES[purpose])
        raise p.invalid_param("file", f"Invalid file: files with purpose {purpose} must be one of {allowed}.")
    with state.lock:
        now = state.now()
        found: StripeObject = {
            "id": new_id("file", 24),
            "object": "file",
            "created": now,
            "expires_at": now + EXPIRES_AFTER,
            "filename": filename or f"file.{kind}",
            "links": {"object": "list", "data": [], "has_more": False, "url": "/v1/file_links"},
            "purpose": purpose,
            "size": len(content),
            "title": None,
            "type": kind,
            "url": None,
        }
        state.files.add(found)
        state.file_contents[found["id"]] = content
        return dict(found)


def retrieve(call: ApiCall) -> StripeObject:
    state = call.backend.state
    with state.lock:
        p.check_known(call.params, ("expand",))
        return dict(state.files.get(call.args["file"]))


def list_all(call: ApiCall) -> StripeObject:
    params = call.params
    state = call.backend.state
    with state.lock:
        p.check_known(params, ("limit", "starting_after", "ending_before", "created", "purpose", "expand"))
        purpose = p.string(params, "purpose")
        return state.files.page(params, where=lambda f: purpose is None or f["purpose"] == purpose)


ROUTES = [
    ApiRoute("POST", "/v1/files", create),
    ApiRoute("GET", "/v1/files", list_all),
    ApiRoute("GET", "/v1/files/<file>", retrieve),
]
