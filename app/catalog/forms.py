"""Forms of the catalogue: a product with its variants, photos, stock, bulk actions, categories."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    Form,
    FormField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import FieldList
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app import money
from app.catalog.models import MAX_STOCK, ProductStatus, WithdrawalExclusion
from app.forms import BoundedIntegerField, MoneyField

# The withdrawal exclusions the shop and the manager choose from (L221-28).
EXCLUSION_CHOICES = [
    (WithdrawalExclusion.NONE.value, _l("Aucune : rétractation possible")),
    (WithdrawalExclusion.PERISHABLE.value, _l("Bien périssable")),
    (WithdrawalExclusion.PERSONALISED.value, _l("Sur mesure ou personnalisé")),
    (WithdrawalExclusion.HYGIENE_SEAL.value, _l("Scellé d’hygiène")),
    (WithdrawalExclusion.SEALED_MEDIA.value, _l("Support audio, vidéo ou logiciel scellé")),
]


class ExclusionField(SelectField):
    """A withdrawal exclusion: "" when inherited (stored as None), so that a form posted without the
    field (an older page, a script) keeps what is stored instead of failing as "not a valid choice"."""

    def process_data(self, value: Any) -> None:
        self.data = "" if value is None else str(value)


def exclusion_choices(inherited: str) -> list[tuple[str, Any]]:
    """The choices of an exclusion field, led by "" (``inherited`` names what it then follows)."""
    return [("", inherited), *EXCLUSION_CHOICES]


STATUS_CHOICES = [
    SelectChoice(ProductStatus.DRAFT.value, _l("Brouillon (non visible)")),
    SelectChoice(ProductStatus.ACTIVE.value, _l("En ligne")),
    SelectChoice(ProductStatus.ARCHIVED.value, _l("Archivé")),
]


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def parse_pairs(text: str, separator: str) -> dict[str, str]:
    """ "taille : M ; couleur : bleu" -> {"taille": "M", "couleur": "bleu"} (``separator`` between pairs)."""
    pairs: dict[str, str] = {}
    for chunk in (text or "").split(separator):
        name, sep, value = chunk.partition(":") if ":" in chunk else chunk.partition("=")
        if sep and name.strip() and value.strip():
            pairs[name.strip().lower()] = value.strip()
    return pairs


def format_pairs(pairs: dict[str, Any], separator: str) -> str:
    return separator.join(
        f"{name} : {', '.join(value) if isinstance(value, list) else value}" for name, value in pairs.items()
    )


def parse_attributes(text: str) -> dict[str, Any]:
    """One fact a line, "matière : cuir"; several values with commas make a list ("labels : bio, local")."""
    facts: dict[str, Any] = {}
    for name, value in parse_pairs(text, "\n").items():
        values = [item.strip() for item in value.split(",") if item.strip()]
        facts[name] = values if len(values) > 1 or name == "labels" else value
    return facts


class VariantForm(Form):
    id = HiddenField()
    options = StringField(
        _l("Options"),
        filters=[_strip],
        validators=[Length(max=300)],
        description=_l("Par exemple : taille : M ; couleur : bleu. Vide si le produit n’a qu’une forme."),
    )
    sku = StringField(
        _l("SKU (référence)"), filters=[_strip], validators=[DataRequired(_l("Indiquez un SKU."))]
    )
    price = MoneyField(_l("Prix TTC (€)"), validators=[InputRequired(_l("Indiquez le prix."))])
    compare_at = MoneyField(_l("Prix barré (€)"), description=_l("Facultatif : le prix avant promotion."))
    stock = BoundedIntegerField(
        _l("Stock"),
        default=0,
        validators=[
            InputRequired(_l("Indiquez le stock.")),
            NumberRange(min=0, message=_l("Le stock ne peut pas être négatif.")),
            NumberRange(max=MAX_STOCK, message=_l("%(max)d unités au plus.", max=MAX_STOCK)),
        ],
    )
    low_stock_threshold = BoundedIntegerField(
        _l("Alerte stock bas"),
        default=3,
        validators=[Optional(), NumberRange(min=0, message=_l("0 au moins."))],
    )
    weight_grams = BoundedIntegerField(
        _l("Poids (g)"), validators=[Optional(), NumberRange(min=0, message=_l("0 au moins."))]
    )
    remove = BooleanField(_l("Supprimer cette déclinaison"))


class ProductForm(FlaskForm):
    title = StringField(
        _l("Nom du produit"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Indiquez le nom du produit.")),
            Length(max=200, message=_l("200 caractères au plus.")),
        ],
    )
    category_id = SelectField(
        _l("Catégorie"), coerce=int, validators=[DataRequired(_l("Choisissez une catégorie."))]
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Length(max=10_000, message=_l("10 000 caractères au plus."))],
        description=_l("Mise en forme simple : **gras**, *italique*, listes avec des tirets."),
        render_kw={"rows": 6},
    )
    attributes = TextAreaField(
        _l("Caractéristiques"),
        validators=[Length(max=3000)],
        description=_l(
            "Une par ligne : « matière : cuir », « origine : Touraine », « labels : bio, local »."
        ),
        render_kw={"rows": 4},
    )
    gtin = StringField(
        _l("Code EAN / ISBN"),
        filters=[_strip],
        validators=[Length(max=20)],
        render_kw={"inputmode": "numeric"},
        description=_l("Facultatif. Pour un livre, son ISBN."),
    )
    vat_bps = SelectField(_l("TVA"), coerce=int)
    status = SelectField(_l("Visibilité"), choices=STATUS_CHOICES, default=ProductStatus.DRAFT.value)
    withdrawal_exclusion = ExclusionField(
        _l("Droit de rétractation"),
        default="",
        description=_l(
            "Certains biens sont exclus du droit de rétractation (article L221-28 du Code de la "
            "consommation) ; les clients en sont informés avant l’achat."
        ),
    )
    variants = FieldList(FormField(VariantForm), min_entries=1, max_entries=100)
    add_variant = BooleanField(_l("Ajouter une déclinaison"))

    def vat_choices(self, rates: tuple[int, ...]) -> None:
        self.vat_bps.choices = [(rate, money.format_rate(rate)) for rate in rates]


class PhotoForm(FlaskForm):
    photo = FileField(_l("Photo"), description=_l("JPEG, PNG ou WebP, 5 Mo au plus."))
    alt = StringField(
        _l("Description de la photo"),
        filters=[_strip],
        validators=[Length(max=200)],
        description=_l("Ce que montre la photo, pour les personnes qui ne la voient pas."),
    )


class StockForm(FlaskForm):
    variant_id = SelectField(_l("Déclinaison"), coerce=int)
    delta = BoundedIntegerField(
        _l("Quantité à ajouter (ou retirer avec un signe moins)"),
        validators=[InputRequired(_l("Indiquez une quantité.")), NumberRange(min=-100_000, max=100_000)],
    )
    note = StringField(
        _l("Raison"),
        filters=[_strip],
        validators=[DataRequired(_l("Indiquez la raison de l’ajustement.")), Length(max=200)],
        description=_l("Par exemple : livraison du fournisseur, inventaire, casse."),
    )


class BulkForm(FlaskForm):
    action = SelectField(
        _l("Pour la sélection"),
        choices=[
            SelectChoice("active", _l("Mettre en ligne")),
            SelectChoice("archived", _l("Archiver")),
            SelectChoice("draft", _l("Repasser en brouillon")),
            SelectChoice("stock", _l("Ajuster le stock de chaque déclinaison")),
        ],
    )
    delta = BoundedIntegerField(
        _l("Quantité"), validators=[Optional(), NumberRange(min=-100_000, max=100_000)]
    )
    note = StringField(_l("Raison"), filters=[_strip], validators=[Length(max=200)])


class CategoryForm(FlaskForm):
    name = StringField(
        _l("Nom"), filters=[_strip], validators=[DataRequired(_l("Indiquez le nom.")), Length(max=120)]
    )
    name_en = StringField(
        _l("Nom en anglais"),
        filters=[_strip],
        validators=[Length(max=120)],
        description=_l("Facultatif : le nom montré dans l’interface en anglais."),
    )
    slug = StringField(
        _l("Adresse"), filters=[_strip], validators=[DataRequired(_l("Indiquez l’adresse.")), Length(max=80)]
    )
    parent_id = SelectField(_l("Catégorie parente"), coerce=int)
    withdrawal_exclusion = ExclusionField(
        _l("Exclusion du droit de rétractation"),
        default="",
        description=_l("Par défaut pour les produits de cette catégorie ; chaque boutique peut la changer."),
    )
    commission = StringField(
        _l("Commission (%)"),
        filters=[_strip],
        description=_l(
            "Facultatif : remplace la commission de la formule pour les produits de cette catégorie."
        ),
    )

    def commission_bps(self) -> int | None:
        if not self.commission.data:
            return None
        try:
            return money.parse_rate(self.commission.data)
        except money.MoneyError as error:
            self.commission.errors = [*self.commission.errors, _l("Un pourcentage, par exemple 12 ou 8,5.")]
            raise ValueError(str(error)) from error
