"""The shop's back office (``/vendeur``): the onboarding wizard, settings, team and payouts.

Every page is addressed by the shop's slug and resolved through the signed-in person's membership:
a person who is not a member of that shop gets a 404, whatever the page or action; a member whose
role the permission table does not allow there gets a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from app import logs, money, permissions
from app.accounts.auth import acting_user
from app.database import utcnow
from app.extensions import db
from app.figures.services import parse_period, refresh_today, shop_period
from app.forms import show_error
from app.permissions import Permission
from app.urls import external_url
from payouts import gateway, subscriptions
from vendors import forms, hours, services, stripe_requirements
from vendors.dashboard import figures as dashboard_figures
from vendors.dashboard import today as dashboard_today
from vendors.models import MemberRole, SellerKind, Shop, ShopMember, ShopStatus, StaffInvitation, VatRegime

blueprint = Blueprint("vendors_backoffice", __name__, url_prefix="/vendeur")

F = TypeVar("F", bound=Callable[..., Any])
CURRENT_SHOP = "vendors.current_shop"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a route needs: one permission, or a function of the URL's arguments (None: no such page).
Needed = Permission | Callable[..., Permission | None]
# The columns of the permission table on the team page.
TEAM_PAGE_ACTORS = (
    permissions.Actor.STAFF,
    permissions.Actor.OWNER,
    permissions.Actor.MANAGER,
    permissions.Actor.SHOPPER,
)

STEP_TITLES = {
    "identity": _l("La boutique"),
    "photos": _l("Photos"),
    "address": _l("Adresse et contact"),
    "hours": _l("Horaires"),
    "delivery": _l("Livraison et retrait"),
    "returns": _l("Retours"),
    "legal": _l("Mentions légales"),
}


def _resolver(needed: Needed, post: Permission | None) -> Callable[[str, dict[str, Any]], Permission | None]:
    def required(method: str, arguments: dict[str, Any]) -> Permission | None:
        wanted = post if post is not None and method == "POST" else needed
        return wanted if isinstance(wanted, Permission) else wanted(**arguments)

    return required


def shop_member(needed: Needed, *, post: Permission | None = None) -> Callable[[F], F]:
    """Resolve ``slug`` to the person's membership and ask the permission table before the view.

    Not signed in: the login page. Not a member of that shop, whoever one is elsewhere: 404, so a
    shop's URLs reveal nothing. A member whose role lacks the permission: 403. ``post`` is the
    permission of the page's form when it is not the page's own. The view gets ``member``.
    """
    required = _resolver(needed, post)

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(slug: str, *args: Any, **kwargs: Any) -> Any:
            # A request that changes something holds the membership until it commits (see membership).
            member = services.membership(acting_user(), slug, hold=request.method not in SAFE_METHODS)
            if member is None:
                abort(404)
            permission = required(request.method, kwargs)
            if permission is None:
                abort(404)
            if not member.may(permission):
                abort(403)
            session[CURRENT_SHOP] = member.shop.slug
            logs.bind(shop_id=member.shop_id)  # the request's log line names the shop (by id)
            return view(member, *args, **kwargs)

        wrapped.required_permission = required  # type: ignore[attr-defined]
        return cast(F, wrapped)

    return decorate


def signed_in(permission: Permission) -> Callable[[F], F]:
    """A back-office page outside any shop (choosing or opening one): the table decides from the
    person's platform role."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not permissions.allows(permissions.platform_actor(current_user), permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = _resolver(permission, None)  # type: ignore[attr-defined]
        return cast(F, wrapped)

    return decorate


def _after_save(member: ShopMember, step: str) -> Response:
    """In the wizard, on to the next step; once the shop is open, back to the same settings page."""
    shop = member.shop
    if shop.status in {ShopStatus.DRAFT, ShopStatus.REJECTED}:
        following = services.next_step(shop, after=step)
        if following is None:
            return redirect(url_for(".submit", slug=shop.slug))
        return redirect(url_for(".step", slug=shop.slug, step=following))
    flash(_l("Modifications enregistrées."), "success")
    return redirect(url_for(".step", slug=shop.slug, step=step))


# -- entry points ---------------------------------------------------------------------------------


@blueprint.route("/")
@signed_in(Permission.OPEN_SHOP)
def home() -> Response | str:
    """The shop last worked on, the only shop, a chooser, or an invitation to open one."""
    memberships = services.memberships(acting_user())
    if not memberships:
        return render_template("vendors/backoffice/no_shop.html")
    slugs = [member.shop.slug for member in memberships]
    current = session.get(CURRENT_SHOP)
    if current in slugs:
        return redirect(url_for(".dashboard", slug=current))
    if len(memberships) == 1:
        return redirect(url_for(".dashboard", slug=slugs[0]))
    return render_template("vendors/backoffice/choose_shop.html", memberships=memberships)


@blueprint.route("/boutiques")
@signed_in(Permission.OPEN_SHOP)
def choose() -> str:
    return render_template(
        "vendors/backoffice/choose_shop.html", memberships=services.memberships(acting_user())
    )


@blueprint.route("/nouvelle-boutique", methods=["GET", "POST"])
@signed_in(Permission.OPEN_SHOP)
def new_shop() -> Response | str:
    form = forms.IdentityForm()
    form.category_id.choices = _category_choices()
    if request.method == "GET" and request.args.get("nom"):
        form.name.data = request.args["nom"]
    if form.validate_on_submit():
        try:
            shop = services.create_shop(acting_user(), _identity(form))
        except services.ShopError as error:
            show_error(form, error)
        else:
            db.session.commit()
            flash(
                _l("Boutique créée. Continuez quand vous voulez : chaque étape est enregistrée."), "success"
            )
            return redirect(url_for(".step", slug=shop.slug, step=services.next_step(shop, after="identity")))
    elif request.method == "GET" and form.name.data:
        form.slug.data = services.suggest_slug(form.name.data)
    return render_template("vendors/backoffice/new_shop.html", form=form)


def _category_choices() -> list[tuple[int, str]]:
    choices = [(0, str(_l("Choisissez…")))]
    for category in services.active_categories():
        prefix = "— " if category.parent_id else ""
        choices.append((category.id, f"{prefix}{category.label}"))
    return choices


def _identity(form: forms.IdentityForm) -> services.Identity:
    return services.Identity(
        name=form.name.data,
        slug=form.slug.data,
        category_id=form.category_id.data or None,
        story=form.story.data or "",
    )


# -- dashboard ------------------------------------------------------------------------------------


@blueprint.route("/<slug>/")
@shop_member(Permission.DASHBOARD)
def dashboard(member: ShopMember) -> str:
    shop = member.shop
    period = parse_period(request.args)
    if refresh_today(period):
        db.session.commit()
    return render_template(
        "vendors/backoffice/dashboard.html",
        member=member,
        shop=shop,
        steps=_step_list(member),
        missing=services.missing_steps(shop),
        open_state=hours.open_state(shop.opening_hours, shop.closures, utcnow()),
        figures=dashboard_figures(member),
        # What needs the shop this morning: only once it is open.
        today=dashboard_today(member) if shop.status == ShopStatus.APPROVED else None,
        shop_period=shop_period(member.shop_id, period),
    )


def _step_list(member: ShopMember) -> list[dict[str, Any]]:
    return [
        {
            "step": step,
            "title": STEP_TITLES[step],
            "done": services.step_done(member.shop, step),
            "optional": step in services.OPTIONAL_STEPS,
            "locked": not member.may(services.STEP_PERMISSIONS[step]),
        }
        for step in services.STEPS
    ]


# -- wizard steps / settings ----------------------------------------------------------------------


@blueprint.route("/<slug>/reglages/<step>", methods=["GET", "POST"])
@shop_member(lambda step: services.STEP_PERMISSIONS.get(step))
def step(member: ShopMember, step: str) -> Response | str:
    shop = member.shop
    handler = STEP_HANDLERS[step]
    form, saved = handler(member)
    if saved:
        db.session.commit()
        return _after_save(member, step)
    return render_template(
        f"vendors/backoffice/step_{step}.html",
        member=member,
        shop=shop,
        form=form,
        step=step,
        steps=_step_list(member),
        step_title=STEP_TITLES[step],
        in_wizard=shop.status in {ShopStatus.DRAFT, ShopStatus.REJECTED},
        **_step_context(step),
    )


def _step_context(step: str) -> dict[str, Any]:
    if step == "delivery":
        return {"relay_points": services.active_relay_points()}
    if step == "hours":
        return {"weekday_names": forms.WEEKDAY_NAMES}
    if step == "address":
        from vendors import geo

        return {"street_names": geo.street_names()}
    return {}


def _save(form: FlaskForm, action: Callable[[], None]) -> bool:
    """Validate, run the service, report its refusal on the form. True when saved."""
    if not form.validate_on_submit():
        return False
    try:
        action()
    except services.ShopError as error:
        db.session.rollback()
        show_error(form, error)
        return False
    return True


def _identity_step(member: ShopMember) -> tuple[FlaskForm, bool]:
    form = forms.IdentityForm(obj=member.shop)
    form.category_id.choices = _category_choices()
    return form, _save(form, lambda: services.update_identity(member, _identity(form)))


def _photos_step(member: ShopMember) -> tuple[FlaskForm, bool]:
    form = forms.PhotosForm()

    def save() -> None:
        for kind in ("logo", "banner"):
            upload = form[kind].data
            if form[f"remove_{kind}"].data:
                services.remove_photo(member, kind)
            elif upload and getattr(upload, "filename", ""):
                services.set_photo(member, kind, upload.stream)

    return form, _save(form, save)


def _address_step(member: ShopMember) -> tuple[FlaskForm, bool]:
    form = forms.AddressForm(obj=member.shop)

    def save() -> None:
        services.update_address(
            member,
            services.Address(
                street=form.street.data,
                postcode=form.postcode.data,
                city=form.city.data,
                country=form.country.data,
                latitude=form.latitude.data,
                longitude=form.longitude.data,
                phone=form.phone.data,
                email=form.email.data,
            ),
        )

    return form, _save(form, save)


def _hours_step(member: ShopMember) -> tuple[FlaskForm, bool]:
    form = forms.HoursForm()
    shop = member.shop
    if request.method == "GET":
        form.fill_from(hours.week(shop.opening_hours))
        while len(form.closures) < len(shop.closures) + 1:
            form.closures.append_entry()
        for row, closure in zip(form.closures, shop.closures, strict=False):
            row.form.starts_on.data = closure.starts_on.isoformat()
            row.form.ends_on.data = closure.ends_on.isoformat()
            row.form.label.data = closure.label
    if not form.validate_on_submit():
        return form, False
    week = form.week()
    closures = form.closure_dates()
    if form.day_errors or closures is None:
        for weekday, message in form.day_errors.items():
            form.day(weekday, "opens_1").errors = [message]
        return form, False
    try:
        services.update_hours(
            member,
            week,
            [services.ClosureDates(starts, ends, label) for starts, ends, label in closures],
        )
    except services.ShopError as error:
        db.session.rollback()
        if error.field and error.field.startswith("day_"):
            form.day(int(error.field.split("_")[1]), "opens_1").errors = [error.message]
        elif error.field == "closures":
            form.closures.errors = [error.message]
        else:
            form.form_errors.append(error.message)
        return form, False
    return form, True


def _delivery_step(member: ShopMember) -> tuple[FlaskForm, bool]:
    shop = member.shop
    form = forms.DeliveryForm(obj=shop)
    form.relay_point_ids.choices = [(point.id, point.name) for point in services.active_relay_points()]
    if request.method == "GET":
        form.local_delivery_fee.data = shop.local_delivery_fee_cents
        form.local_delivery_free_over.data = shop.local_delivery_free_over_cents
        form.home_delivery_fee.data = shop.home_delivery_fee_cents
        form.relay_point_ids.data = [point.id for point in shop.relay_points]

    def save() -> None:
        services.update_delivery(
            member,
            services.DeliveryOptions(
                click_collect=form.click_collect.data,
                click_collect_prep_minutes=form.click_collect_prep_minutes.data or 0,
                local_delivery=form.local_delivery.data,
                local_delivery_postcodes=(form.local_delivery_postcodes.data or "").replace(",", " ").split(),
                local_delivery_fee_cents=form.local_delivery_fee.data or 0,
                local_delivery_free_over_cents=form.local_delivery_free_over.data,
                home_delivery=form.home_delivery.data,
                home_delivery_fee_cents=form.home_delivery_fee.data or 0,
                relay=form.relay.data,
                relay_point_ids=list(form.relay_point_ids.data or []),
            ),
        )

    return form, _save(form, save)


def _returns_step(member: ShopMember) -> tuple[FlaskForm, bool]:
    form = forms.ReturnsForm(obj=member.shop)
    return form, _save(
        form, lambda: services.update_returns(member, form.return_days.data, form.return_policy.data or "")
    )


def _legal_step(member: ShopMember) -> tuple[FlaskForm, bool]:
    shop = member.shop
    form = forms.LegalForm(obj=shop)
    if request.method == "GET" and shop.vat_regime:
        form.vat_regime.data = shop.vat_regime.value
    if not shop.is_french:
        form.registration_number.label.text = str(_l("Numéro d’entreprise (BCE)"))
        form.trade_register.label.text = str(_l("Registre (facultatif)"))

    def save() -> None:
        services.update_legal(
            member,
            services.LegalDetails(
                legal_name=form.legal_name.data,
                registration_number=form.registration_number.data,
                vat_number=form.vat_number.data or "",
                vat_regime=VatRegime(form.vat_regime.data),
                trade_register=form.trade_register.data or "",
            ),
        )

    return form, _save(form, save)


@blueprint.route("/<slug>/informations-fiscales", methods=["GET", "POST"])
@shop_member(Permission.LEGAL)
def tax_details(member: ShopMember) -> Response | str:
    """The seller's DAC7 identity: the platform reports it with the year's sales to the tax office."""
    shop = member.shop
    form = forms.TaxDetailsForm(
        data={
            "kind": shop.seller_kind.value if shop.seller_kind else None,
            "tax_number": shop.tax_number or _siren_hint(shop),
            "first_name": shop.seller_first_name,
            "last_name": shop.seller_last_name,
            "birth_date": shop.seller_birth_date,
            "birth_city": shop.seller_birth_city,
            "birth_country": shop.seller_birth_country or shop.country,
        }
    )

    def save() -> None:
        services.update_tax_details(
            member,
            services.TaxDetails(
                kind=SellerKind(form.kind.data),
                tax_number=form.tax_number.data or "",
                first_name=form.first_name.data or "",
                last_name=form.last_name.data or "",
                birth_date=form.birth_date.data,
                birth_city=form.birth_city.data or "",
                birth_country=form.birth_country.data or "",
            ),
        )

    if _save(form, save):
        db.session.commit()
        flash(_l("Informations fiscales enregistrées."), "success")
        return redirect(url_for(".tax_details", slug=shop.slug))
    return render_template(
        "vendors/backoffice/tax_details.html",
        member=member,
        shop=shop,
        form=form,
        missing=[services.DAC7_FIELDS[key] for key in services.dac7_missing(shop)],
    )


def _siren_hint(shop: Shop) -> str:
    """A French company's SIREN is the head of its SIRET: offered, for the owner to confirm."""
    if shop.is_french and len(shop.registration_number) == 14:
        return shop.registration_number[:9]
    return shop.registration_number if not shop.is_french else ""


STEP_HANDLERS: dict[str, Callable[[ShopMember], tuple[FlaskForm, bool]]] = {
    "identity": _identity_step,
    "photos": _photos_step,
    "address": _address_step,
    "hours": _hours_step,
    "delivery": _delivery_step,
    "returns": _returns_step,
    "legal": _legal_step,
}


@blueprint.route("/<slug>/envoyer", methods=["GET", "POST"])
@shop_member(Permission.SUBMIT)
def submit(member: ShopMember) -> Response | str:
    shop = member.shop
    form = forms.SubmitForm()
    plans = subscriptions.active_plans()
    if plans:
        form.plan.choices = [
            SelectChoice(
                plan.id,
                _l(
                    "%(plan)s — %(price)s par mois",
                    plan=plan.name,
                    price=money.format_money(plan.monthly_price_cents),
                ),
            )
            for plan in plans
        ]
        chosen = subscriptions.subscription_of(shop)
        if request.method == "GET" and chosen is not None:
            form.plan.data = chosen.plan_id
    else:
        del form.plan  # a marketplace without plans: nothing to choose
    if form.validate_on_submit():
        try:
            if plans:
                subscriptions.record_choice(member.user, shop, form.plan.data)
            services.submit(member, accept_terms=bool(form.accept_terms.data))
        except (services.ShopError, subscriptions.BillingError) as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_l("C’est envoyé ! La gestion de la place de marché vérifie votre boutique."), "success")
            return redirect(url_for(".dashboard", slug=shop.slug))
    return render_template(
        "vendors/backoffice/submit.html",
        member=member,
        shop=shop,
        form=form,
        steps=_step_list(member),
        missing=services.missing_steps(shop),
        step_titles=STEP_TITLES,
    )


# -- team -----------------------------------------------------------------------------------------


@blueprint.route("/<slug>/equipe", methods=["GET", "POST"])
@shop_member(Permission.TEAM, post=Permission.TEAM_MANAGE)
def team(member: ShopMember) -> Response | str:
    form = forms.InviteForm()
    if form.validate_on_submit():
        try:
            services.invite(member, form.email.data, MemberRole(form.role.data))
        except services.ShopError as error:
            show_error(form, error)
        else:
            db.session.commit()
            flash(_l("Invitation envoyée à %(email)s.", email=form.email.data), "success")
            return redirect(url_for(".team", slug=member.shop.slug))
    return render_template(
        "vendors/backoffice/team.html",
        member=member,
        shop=member.shop,
        form=form,
        invitations=services.pending_invitations(member.shop) if member.may(Permission.TEAM_MANAGE) else [],
        action_form=FlaskForm(),
        actors=[permissions.ACTOR_LABELS[actor] for actor in TEAM_PAGE_ACTORS],
        permission_rows=permissions.rows(TEAM_PAGE_ACTORS),
    )


def _of_this_shop(member: ShopMember, model: type[ShopMember | StaffInvitation], object_id: int) -> None:
    """Another shop's person or invitation under this shop's address is a 404, as for its products."""
    shop_id = db.session.scalar(sa.select(model.shop_id).where(model.id == object_id))
    if shop_id != member.shop_id:
        abort(404)


@blueprint.route("/<slug>/equipe/<int:member_id>/retirer", methods=["POST"])
@shop_member(Permission.TEAM_MANAGE)
def remove_member(member: ShopMember, member_id: int) -> Response:
    _of_this_shop(member, ShopMember, member_id)
    return _team_action(
        member,
        lambda: services.remove_member(member, member_id),
        _l("La personne ne fait plus partie de la boutique."),
    )


@blueprint.route("/<slug>/equipe/invitations/<int:invitation_id>/annuler", methods=["POST"])
@shop_member(Permission.TEAM_MANAGE)
def revoke_invitation(member: ShopMember, invitation_id: int) -> Response:
    _of_this_shop(member, StaffInvitation, invitation_id)
    return _team_action(
        member, lambda: services.revoke_invitation(member, invitation_id), _l("Invitation annulée.")
    )


def _team_action(member: ShopMember, action: Callable[[], None], done: Any) -> Response:
    """A button of the team page: run the service, commit, say how it went, back to the team."""
    if FlaskForm().validate_on_submit():
        try:
            action()
        except services.ShopError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(done, "success")
    return redirect(url_for(".team", slug=member.shop.slug))


# -- payouts (Stripe Connect Express) -------------------------------------------------------------


@blueprint.route("/<slug>/paiements")
@shop_member(Permission.PAYMENTS)
def payouts(member: ShopMember) -> str:
    return render_template(
        "vendors/backoffice/payouts.html",
        member=member,
        shop=member.shop,
        form=FlaskForm(),
        requirements=stripe_requirements.labels(member.shop.stripe_requirements or []),
    )


@blueprint.route("/<slug>/paiements/inscription", methods=["POST"])
@shop_member(Permission.PAYMENTS)
def payouts_onboarding(member: ShopMember) -> Response:
    """Send the owner to Stripe's hosted onboarding (the link is made on demand: it expires fast)."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    slug = member.shop.slug
    try:
        link = services.start_payouts_onboarding(
            member,
            refresh_url=external_url("vendors_backoffice.payouts_refresh", slug=slug),
            return_url=external_url("vendors_backoffice.payouts_return", slug=slug),
        )
    except gateway.StripeError:
        db.session.rollback()
        flash(_l("Stripe ne répond pas pour le moment. Réessayez dans un instant."), "error")
        return redirect(url_for(".payouts", slug=slug))
    db.session.commit()
    return redirect(link, code=303)


@blueprint.route("/<slug>/paiements/retour")
@shop_member(Permission.PAYMENTS)
def payouts_return(member: ShopMember) -> Response:
    try:
        services.refresh_payouts_status(member)
    except gateway.StripeError:
        db.session.rollback()
    else:
        db.session.commit()
    if member.shop.stripe_payouts_enabled:
        flash(_l("Votre compte de paiement est prêt : vous recevrez vos virements."), "success")
    else:
        flash(_l("Stripe a encore besoin d’informations : voyez la liste ci-dessous."), "warning")
    return redirect(url_for(".payouts", slug=member.shop.slug))


@blueprint.route("/<slug>/paiements/relancer")
@shop_member(Permission.PAYMENTS)
def payouts_refresh(member: ShopMember) -> Response:
    """Stripe sends the owner here when the onboarding link expired: make a new one at once."""
    flash(_l("Le lien Stripe a expiré : reprenez l’inscription."), "info")
    return redirect(url_for(".payouts", slug=member.shop.slug))


@blueprint.route("/<slug>/paiements/tableau-de-bord", methods=["POST"])
@shop_member(Permission.PAYMENTS)
def payouts_dashboard(member: ShopMember) -> Response:
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        return redirect(services.payouts_dashboard_url(member), code=303)
    except (services.ShopError, gateway.StripeError) as error:
        message = error.message if isinstance(error, services.ShopError) else _l("Stripe ne répond pas.")
        flash(message, "error")
        return redirect(url_for(".payouts", slug=member.shop.slug))
