"""Who may do what: one table, asked by every back-office view and shown on the team page.

The actors are the people of the marketplace: a visitor who has not signed in, a shopper (anyone
signed in), a shop's staff and its owner (through their membership of that shop, and of that shop
only), and the town's commerce manager, who works from the console and not inside a shop's back
office. Views ask ``allows``; nothing else decides from a role.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from flask_babel import lazy_gettext as _l


class Actor(enum.StrEnum):
    ANONYMOUS = "anonymous"
    SHOPPER = "shopper"
    STAFF = "staff"
    OWNER = "owner"
    MANAGER = "manager"


class Permission(enum.StrEnum):
    """A page or an action of the back office (the value is what templates pass to ``may``)."""

    OPEN_SHOP = "shop.open"
    DASHBOARD = "shop.dashboard"
    ORDERS = "shop.orders"
    PRODUCTS = "shop.products"
    REVIEWS = "shop.reviews"
    HOURS = "shop.hours"
    TEAM = "shop.team"
    SETTINGS = "shop.settings"
    LEGAL = "shop.legal"
    SUBMIT = "shop.submit"
    TEAM_MANAGE = "shop.team.manage"
    PAYMENTS = "shop.payments"
    FINANCES = "shop.finances"
    DISPUTES = "shop.disputes"
    API_KEYS = "shop.api"
    TOWN_CONSOLE = "town.console"


_SIGNED_IN = frozenset({Actor.SHOPPER, Actor.STAFF, Actor.OWNER, Actor.MANAGER})
_SHOP_PEOPLE = frozenset({Actor.STAFF, Actor.OWNER})
_OWNER = frozenset({Actor.OWNER})
_MANAGER = frozenset({Actor.MANAGER})

# Staff run the shop day to day (orders, products, reviews, opening hours); the owner also answers
# for what binds the shop: its public identity and terms, its legal identity, its money and its team.
TABLE: Mapping[Permission, frozenset[Actor]] = MappingProxyType(
    {
        Permission.OPEN_SHOP: _SIGNED_IN,
        Permission.DASHBOARD: _SHOP_PEOPLE,
        Permission.ORDERS: _SHOP_PEOPLE,
        Permission.PRODUCTS: _SHOP_PEOPLE,
        Permission.REVIEWS: _SHOP_PEOPLE,
        Permission.HOURS: _SHOP_PEOPLE,
        Permission.TEAM: _SHOP_PEOPLE,
        Permission.SETTINGS: _OWNER,
        Permission.LEGAL: _OWNER,
        Permission.SUBMIT: _OWNER,
        Permission.TEAM_MANAGE: _OWNER,
        Permission.PAYMENTS: _OWNER,
        Permission.FINANCES: _OWNER,
        # Evidence about orders (tracking, collection, what was sold) is the staff's everyday work; what
        # a lost dispute costs the shop shows in its finances, which stay the owner's.
        Permission.DISPUTES: _SHOP_PEOPLE,
        # A key acts for the shop without anyone signed in: giving one out binds the shop like its terms do.
        Permission.API_KEYS: _OWNER,
        Permission.TOWN_CONSOLE: _MANAGER,
    }
)

LABELS: Mapping[Permission, Any] = MappingProxyType(
    {
        Permission.OPEN_SHOP: _l("Ouvrir une boutique"),
        Permission.DASHBOARD: _l("Voir le tableau de bord de la boutique"),
        Permission.ORDERS: _l("Traiter les commandes et les retours, imprimer bons et factures"),
        Permission.PRODUCTS: _l("Gérer les produits, le stock, les photos et l’import CSV"),
        Permission.REVIEWS: _l("Lire les avis, y répondre, en signaler"),
        Permission.HOURS: _l("Modifier les horaires et les fermetures"),
        Permission.TEAM: _l("Voir l’équipe et ce tableau"),
        Permission.SETTINGS: _l("Modifier la vitrine : nom, photos, adresse, livraison, retours"),
        Permission.LEGAL: _l("Voir et modifier les mentions légales (SIRET, TVA)"),
        Permission.SUBMIT: _l("Envoyer la boutique pour validation et choisir le forfait"),
        Permission.TEAM_MANAGE: _l("Inviter ou retirer des personnes"),
        Permission.PAYMENTS: _l("Compte de paiement Stripe"),
        Permission.FINANCES: _l("Finances : soldes, virements, relevés, factures, forfait"),
        Permission.DISPUTES: _l("Voir les litiges bancaires et y apporter des preuves"),
        Permission.API_KEYS: _l(
            "Outils et API : créer et révoquer les clés d’API (caisse, logiciel de stock)"
        ),
        Permission.TOWN_CONSOLE: _l(
            "Console de la ville : boutiques, catégories, avis, commandes, commissions, forfaits, finances"
        ),
    }
)

ACTOR_LABELS: Mapping[Actor, Any] = MappingProxyType(
    {
        Actor.ANONYMOUS: _l("Visiteur non connecté"),
        Actor.SHOPPER: _l("Client"),
        Actor.STAFF: _l("Équipe"),
        Actor.OWNER: _l("Propriétaire"),
        Actor.MANAGER: _l("Manager de commerce"),
    }
)


class ApiScope(enum.StrEnum):
    """What an API key may do (the value is the scope's name in the API and its documentation)."""

    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    STOCK_WRITE = "stock:write"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    REVIEWS_READ = "reviews:read"
    REVIEWS_WRITE = "reviews:write"
    TOWN_READ = "town:read"


# Who may give a key each scope: a shop's owner its shop's scopes (the key acts for that shop only), the
# town's manager the town's read-only scope (shops, orders and figures of every shop, nothing written).
API_SCOPES: Mapping[ApiScope, frozenset[Actor]] = MappingProxyType(
    {
        ApiScope.CATALOG_READ: _OWNER,
        ApiScope.CATALOG_WRITE: _OWNER,
        ApiScope.STOCK_WRITE: _OWNER,
        ApiScope.ORDERS_READ: _OWNER,
        ApiScope.ORDERS_WRITE: _OWNER,
        ApiScope.REVIEWS_READ: _OWNER,
        ApiScope.REVIEWS_WRITE: _OWNER,
        ApiScope.TOWN_READ: _MANAGER,
    }
)

API_SCOPE_LABELS: Mapping[ApiScope, Any] = MappingProxyType(
    {
        ApiScope.CATALOG_READ: _l("Lire le catalogue de la boutique"),
        ApiScope.CATALOG_WRITE: _l("Créer, modifier et archiver des produits"),
        ApiScope.STOCK_WRITE: _l("Mettre à jour le stock (caisse, logiciel de stock)"),
        ApiScope.ORDERS_READ: _l("Lire les commandes et les retours"),
        ApiScope.ORDERS_WRITE: _l("Traiter les commandes et les retours (remboursements compris)"),
        ApiScope.REVIEWS_READ: _l("Lire les avis publiés de la boutique"),
        ApiScope.REVIEWS_WRITE: _l("Répondre aux avis et modifier ses réponses"),
        ApiScope.TOWN_READ: _l("Lire les boutiques, commandes et chiffres de la ville"),
    }
)


def grantable_scopes(actor: Actor) -> tuple[ApiScope, ...]:
    """The scopes ``actor`` may put on a key, in the table's order."""
    return tuple(scope for scope, actors in API_SCOPES.items() if actor in actors)


def key_allows(scopes: Iterable[str], needed: ApiScope | str) -> bool:
    """Whether a key holding ``scopes`` may use an endpoint that needs ``needed``."""
    return ApiScope(needed).value in set(scopes)


def allows(actor: Actor, permission: Permission | str) -> bool:
    """Whether the table grants ``permission`` to ``actor`` (an unknown permission is an error)."""
    return actor in TABLE[Permission(permission)]


def platform_actor(user: Any) -> Actor:
    """A person's actor outside any shop: not signed in, a shopper, or the town's manager."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Actor.ANONYMOUS
    return Actor.MANAGER if getattr(user, "is_manager", False) else Actor.SHOPPER


@dataclass(frozen=True)
class Row:
    """One line of the table as people read it: the page or action and who may use it."""

    permission: Permission
    label: Any
    allowed: tuple[bool, ...]


def rows(actors: tuple[Actor, ...]) -> list[Row]:
    """The table, in its order, for the columns ``actors``."""
    return [
        Row(permission, LABELS[permission], tuple(actor in TABLE[permission] for actor in actors))
        for permission in Permission
    ]
