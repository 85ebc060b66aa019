"""Forms of the webhooks pages (back office and console)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.validators import Length, Optional

from api.webhooks.models import URL_MAX
from api.webhooks.services import EVENT_LABELS


class EndpointForm(FlaskForm):
    url = StringField(
        _l("Adresse (URL)"),
        description=_l("Une adresse https:// publique, qui reçoit les événements en POST (JSON signé)."),
        validators=[Length(max=URL_MAX)],
        render_kw={"inputmode": "url", "autocomplete": "off", "placeholder": "https://"},
    )
    description = StringField(
        _l("Description (facultatif)"),
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "off"},
    )
    events = SelectMultipleField(
        _l("Événements"),
        # The choices' check is the service's, so that its message names the field.
        validate_choice=False,
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.events.choices = [(event_type, str(label)) for event_type, label in EVENT_LABELS.items()]


class ActionForm(FlaskForm):
    """A button's form: nothing but the CSRF token."""
