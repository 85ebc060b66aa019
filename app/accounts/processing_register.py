"""The register of processing activities (GDPR article 30), read from one data file.

``processing_register.json`` is the only source: the manager's console page, its Markdown and its PDF
are all drawn from it, so the three never disagree. Each text is given in French and English.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _

REGISTER_FILE = Path(__file__).with_name("processing_register.json")
FIELDS = ("purpose", "legal_basis", "data", "people", "recipients", "retention")


@dataclass(frozen=True)
class Activity:
    id: str
    name: str
    purpose: str
    legal_basis: str
    data: str
    people: str
    recipients: str
    retention: str


@dataclass(frozen=True)
class Register:
    version: str
    controller: str
    address: str
    activities: list[Activity]
    security_measures: list[str]


@cache
def _raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REGISTER_FILE.read_text(encoding="utf-8"))
    return data


def _text(value: dict[str, Any], locale: str) -> Any:
    return value.get(locale) or value["fr"]


def load(locale: str | None = None) -> Register:
    """The register in ``locale`` (the page's language by default), French where a text lacks it."""
    locale = locale or str(get_locale() or "fr")
    raw = _raw()
    activities = [
        Activity(
            id=item["id"], name=_text(item["name"], locale), **{f: _text(item[f], locale) for f in FIELDS}
        )
        for item in raw["activities"]
    ]
    return Register(
        version=raw["version"],
        controller=current_app.config["PLATFORM_LEGAL_NAME"],
        address=current_app.config["PLATFORM_ADDRESS"],
        activities=activities,
        security_measures=list(_text(raw["security_measures"], locale)),
    )


def _labels() -> dict[str, str]:
    return {
        "purpose": _("Finalité"),
        "legal_basis": _("Base légale"),
        "data": _("Catégories de données"),
        "people": _("Personnes concernées"),
        "recipients": _("Destinataires"),
        "retention": _("Durée de conservation"),
    }


def markdown(register: Register) -> str:
    """The register as a Markdown document (to print, or to keep with the company's records)."""
    labels = _labels()
    lines = [
        f"# {_('Registre des activités de traitement')}",
        "",
        f"{_('Responsable du traitement')} : {register.controller}, {register.address}",
        f"{_('Version')} : {register.version}",
        "",
    ]
    for number, activity in enumerate(register.activities, start=1):
        lines += [f"## {number}. {activity.name}", ""]
        lines += [f"- **{labels[field]}** : {getattr(activity, field)}" for field in FIELDS]
        lines.append("")
    lines += [f"## {_('Mesures de sécurité')}", ""]
    lines += [f"- {measure}" for measure in register.security_measures]
    return "\n".join(lines) + "\n"


def pdf_document(register: Register, locale: str) -> bytes:
    """The register as a PDF, drawn with the marketplace's PDF helpers."""
    title = _("Registre des activités de traitement")
    from app import pdf  # fpdf and Pillow: imported when a PDF is made

    document = pdf.new_document(register.controller, register.version, title, register.controller, locale)
    document.title_line(title)
    document.paragraph(f"{_('Responsable du traitement')} : {register.controller}, {register.address}")
    labels = _labels()
    for number, activity in enumerate(register.activities, start=1):
        document.title_line(f"{number}. {activity.name}")
        for field in FIELDS:
            document.paragraph(f"{labels[field]} : {getattr(activity, field)}", gap=0.5)
        document.ln(2)
    document.title_line(_("Mesures de sécurité"))
    for measure in register.security_measures:
        document.paragraph(f"• {measure}", gap=0.5)
    return pdf.output(document)
