"""What Stripe still asks of a shop's connected account, in words a shopkeeper reads.

Stripe names each missing piece by its place in the Account object (``representative.dob.day``,
``external_account``, ``person_1AbC.verification.document``). Known fields get a label; a person's
or the company's field gets the field's label and whose it is; anything else still reads as words,
never as the dotted name alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l

# Fields of the account itself (Stripe's "required verification information").
ACCOUNT_FIELDS: dict[str, Any] = {
    "external_account": _l("Compte bancaire (IBAN) qui recevra vos virements"),
    "business_type": _l("Forme de votre activité (entreprise individuelle, société…)"),
    "business_profile.mcc": _l("Secteur d’activité"),
    "business_profile.url": _l("Site web ou page qui présente votre activité"),
    "business_profile.product_description": _l("Description de ce que vous vendez"),
    "business_profile.name": _l("Nom commercial"),
    "business_profile.support_phone": _l("Téléphone du service client"),
    "business_profile.support_email": _l("Adresse e-mail du service client"),
    "business_profile.support_url": _l("Page d’aide aux clients"),
    "business_profile.support_address": _l("Adresse du service client"),
    "tos_acceptance.date": _l("Acceptation du contrat de service de Stripe"),
    "tos_acceptance.ip": _l("Acceptation du contrat de service de Stripe"),
    "settings.payments.statement_descriptor": _l("Libellé sur les relevés bancaires de vos clients"),
    "settings.card_payments.statement_descriptor_prefix": _l(
        "Libellé sur les relevés bancaires de vos clients"
    ),
    "documents.bank_account_ownership_verification.files": _l(
        "Justificatif de titularité du compte bancaire (RIB)"
    ),
    "documents.company_registration_verification.files": _l(
        "Justificatif d’immatriculation de l’entreprise (extrait Kbis)"
    ),
    "documents.proof_of_registration.files": _l("Justificatif d’immatriculation de l’entreprise"),
    "documents.company_license.files": _l("Licence ou autorisation d’exercer"),
    "documents.company_memorandum_of_association.files": _l("Statuts de l’entreprise"),
    "documents.company_tax_id_verification.files": _l(
        "Justificatif du numéro d’identification de l’entreprise"
    ),
    "documents.proof_of_ultimate_beneficial_ownership.files": _l("Justificatif des bénéficiaires effectifs"),
}

# Fields of ``company.``: the business itself.
COMPANY_FIELDS: dict[str, Any] = {
    "name": _l("Raison sociale de l’entreprise"),
    "tax_id": _l("Numéro d’identification de l’entreprise (SIREN, numéro BCE)"),
    "vat_id": _l("Numéro de TVA intracommunautaire"),
    "registration_number": _l("Numéro d’immatriculation de l’entreprise"),
    "structure": _l("Forme juridique de l’entreprise"),
    "phone": _l("Téléphone de l’entreprise"),
    "address": _l("Adresse du siège de l’entreprise"),
    "directors_provided": _l("Liste des dirigeants de l’entreprise"),
    "executives_provided": _l("Liste des cadres dirigeants de l’entreprise"),
    "owners_provided": _l("Liste des associés qui détiennent plus d’un quart (25 %) de l’entreprise"),
    "ownership_declaration": _l("Déclaration des bénéficiaires effectifs"),
    "verification.document": _l("Justificatif de l’entreprise (extrait Kbis)"),
}

# Fields of a person: ``individual.``, ``representative.``, ``person_XXXX.``, ``owners.``…
PERSON_FIELDS: dict[str, Any] = {
    "first_name": _l("Prénom"),
    "last_name": _l("Nom"),
    "dob": _l("Date de naissance"),
    "email": _l("Adresse e-mail"),
    "phone": _l("Téléphone"),
    "address": _l("Adresse personnelle"),
    "registered_address": _l("Adresse de résidence"),
    "id_number": _l("Numéro de pièce d’identité"),
    "nationality": _l("Nationalité"),
    "political_exposure": _l("Fonction politique exposée (oui ou non)"),
    "full_name_aliases": _l("Autres noms utilisés"),
    "relationship.title": _l("Fonction dans l’entreprise"),
    "relationship": _l("Rôle dans l’entreprise"),
    "verification.document": _l("Pièce d’identité (carte d’identité ou passeport)"),
    "verification.additional_document": _l("Justificatif de domicile"),
}

# Whose field it is; the individual entrepreneur is the reader, who needs no "whose".
PERSONS: dict[str, Any] = {
    "representative": _l("représentant légal"),
    "owners": _l("associés qui détiennent plus de 25 %"),
    "directors": _l("dirigeants"),
    "executives": _l("cadres dirigeants"),
}
PERSON_ID = re.compile(r"^person_[A-Za-z0-9]+$")


def _field(fields: dict[str, Any], path: str) -> Any | None:
    """The label of the longest known start of ``path`` (``dob.day`` is the date of birth)."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        found = fields.get(".".join(parts[:end]))
        if found is not None:
            return found
    return None


def _words(path: str) -> str:
    """``business_profile.annual_revenue`` → ``business profile, annual revenue``: words, at least."""
    parts = [part for part in path.split(".") if part and part != "files"]
    return ", ".join(part.replace("_", " ") for part in parts) or path


def label(requirement: str) -> str:
    """A requirement of Stripe in the reader's language."""
    known = _field(ACCOUNT_FIELDS, requirement)
    if known is not None:
        return str(known)
    owner, _, rest = requirement.partition(".")
    if owner == "company" and rest:
        found = _field(COMPANY_FIELDS, rest)
        return str(found) if found is not None else str(_l("Entreprise : %(what)s", what=_words(rest)))
    if rest and (owner == "individual" or owner in PERSONS or PERSON_ID.match(owner)):
        found = _field(PERSON_FIELDS, rest)
        what = str(found) if found is not None else str(_l("information « %(what)s »", what=_words(rest)))
        if owner == "individual":
            return what[:1].upper() + what[1:]
        whose = PERSONS.get(owner) or _l("une personne de l’entreprise")
        return str(_l("%(what)s (%(whose)s)", what=what[:1].upper() + what[1:], whose=whose))
    return str(_l("Autre information demandée par Stripe : « %(what)s »", what=_words(requirement)))


def labels(requirements: Iterable[str]) -> list[str]:
    """Each requirement's label once, in Stripe's order (a date of birth is three requirements)."""
    seen: dict[str, None] = {}
    for requirement in requirements:
        seen.setdefault(label(requirement), None)
    return list(seen)
