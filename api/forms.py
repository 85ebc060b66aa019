"""The key forms of the back office ("Outils et API") and of the manager's console."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from app import permissions
from app.permissions import Actor


class ScopeList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NewKeyForm(FlaskForm):
    name = StringField(
        _l("Nom de la clé"),
        validators=[DataRequired(_l("Donnez un nom à la clé.")), Length(max=80)],
        description=_l("Pour la reconnaître : « Caisse du magasin », « Logiciel de stock »…"),
    )
    scopes = ScopeList(_l("Autorisations"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.scopes.choices = [
            (scope.value, f"{scope.value} : {permissions.API_SCOPE_LABELS[scope]}")
            for scope in permissions.grantable_scopes(Actor.OWNER)
        ]


class TownKeyForm(FlaskForm):
    name = StringField(
        _l("Nom de la clé"), validators=[DataRequired(_l("Donnez un nom à la clé.")), Length(max=80)]
    )


class RevokeForm(FlaskForm):
    key_id = HiddenField()
