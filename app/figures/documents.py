"""The town's figures as files: the dashboard as a spreadsheet (CSV) and the monthly report to the
town council (PDF). Both read the same ``services.Dashboard`` the page shows."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from fpdf.enums import Align

from app.catalog.imports import neutralise
from app.figures.services import Chart, Dashboard, Totals
from app.money import cents_to_decimal, format_money, format_rate
from app.pdf import long_date, new_document, output

NUMBER = re.compile(r"-?[0-9]+(?:,[0-9]+)?")


def _amount(cents: int) -> str:
    """1250 -> "12,50": the way French spreadsheets write amounts."""
    return str(cents_to_decimal(cents)).replace(".", ",")


def _percent(bps: int) -> str:
    """1250 bps -> "12,5" (a percentage, for a spreadsheet)."""
    return f"{bps // 100},{bps % 100:02d}".rstrip("0").rstrip(",")


def _cell(value: Any) -> str:
    text = str(value)
    return text if NUMBER.fullmatch(text) else neutralise(text)


def indicators(totals: Totals) -> list[tuple[str, str, str]]:
    """(key, label, value for a spreadsheet) of each headline figure."""
    rating = totals.rating
    return [
        ("gmv", _("Ventes TTC"), _amount(totals.gmv_cents)),
        ("refunds", _("Remboursements"), _amount(totals.refunds_cents)),
        ("net_gmv", _("Ventes TTC nettes des remboursements"), _amount(totals.net_gmv_cents)),
        ("checkouts", _("Commandes"), str(totals.checkouts)),
        ("orders", _("Commandes de boutique"), str(totals.orders)),
        ("items", _("Articles vendus"), str(totals.items)),
        ("basket", _("Panier moyen TTC"), _amount(totals.basket_cents)),
        ("buyers", _("Clients acheteurs"), str(totals.buyers)),
        ("new_buyers", _("Nouveaux clients"), str(totals.new_buyers)),
        ("returning_buyers", _("Clients déjà venus"), str(totals.returning_buyers)),
        ("shops_selling", _("Boutiques ayant vendu"), str(totals.shops_selling)),
        ("commission", _("Commissions HT"), _amount(totals.commission_cents)),
        ("subscriptions", _("Abonnements HT"), _amount(totals.subscriptions_cents)),
        ("refund_rate", _("Taux de remboursement (%%)"), _percent(totals.refund_rate_bps)),
        ("withdrawals", _("Rétractations"), str(totals.withdrawals)),
        ("withdrawal_rate", _("Taux de rétractation (%%)"), _percent(totals.withdrawal_rate_bps)),
        ("rating", _("Note moyenne des avis"), "" if rating is None else f"{rating:.2f}".replace(".", ",")),
        ("rating_count", _("Avis publiés"), str(totals.rating_count)),
    ]


def _chart_rows(chart: Chart) -> Iterator[list[str]]:
    rates = chart.extra.get("rates", ())
    for row in chart.rows:
        cells = []
        for index, value in enumerate(row):
            if index < len(chart.money) and chart.money[index]:
                cells.append(_amount(int(value)))
            elif index < len(rates) and rates[index]:
                cells.append(_percent(int(value)))
            else:
                cells.append(str(value))
        yield cells


def dashboard_csv(dashboard: Dashboard, locale: str = "fr") -> str:
    """The page as a spreadsheet reads it: UTF-8 with a BOM, ``;`` between cells, amounts with a decimal
    comma; one block per table, separated by an empty line."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    period, previous = dashboard.period, dashboard.previous

    def write(cells: Sequence[Any]) -> None:
        writer.writerow([_cell(cell) for cell in cells])

    with force_locale(locale):
        write([_("Période"), period.start.isoformat(), period.end.isoformat()])
        write([_("Période précédente"), previous.start.isoformat(), previous.end.isoformat()])
        write([])
        write([_("Indicateur"), _("Période"), _("Période précédente")])
        for (_key, label, now), (_same, _label, before) in zip(
            indicators(dashboard.totals), indicators(dashboard.before), strict=True
        ):
            write([label.replace("%%", "%"), now, before])
        for chart in dashboard.charts:
            write([])
            write([str(chart.title)])
            write([str(header) for header in chart.headers])
            for cells in _chart_rows(chart):
                write(cells)
        if dashboard.funnel is not None:
            write([])
            write([_("Visites, paniers et commandes par boutique")])
            write([_("Boutique"), _("Visites"), _("Ajouts au panier"), _("Commandes")])
            for row in dashboard.funnel:
                write([row.shop_name, row.views, row.carts, row.orders])
        if dashboard.misses is not None:
            write([])
            write([_("Recherches sans résultat")])
            write([_("Recherche"), _("Fois"), _("Résultats au plus")])
            for text, times, results in dashboard.misses:
                write([text, times, results])
    return buffer.getvalue()


def _display(totals: Totals, key: str, locale: str) -> str:
    money_keys = {
        "gmv": totals.gmv_cents,
        "refunds": totals.refunds_cents,
        "net_gmv": totals.net_gmv_cents,
        "basket": totals.basket_cents,
        "commission": totals.commission_cents,
        "subscriptions": totals.subscriptions_cents,
    }
    if key in money_keys:
        return format_money(money_keys[key], locale=locale)
    if key == "refund_rate":
        return format_rate(totals.refund_rate_bps, locale=locale)
    if key == "withdrawal_rate":
        return format_rate(totals.withdrawal_rate_bps, locale=locale)
    if key == "rating":
        return totals.rating_text  # in the language forced around the drawing
    return str(getattr(totals, key))


def monthly_report_pdf(dashboard: Dashboard, locale: str = "fr") -> bytes:
    """The month's report for the town council: the headline figures against the month before, then
    each table of the dashboard."""
    config = current_app.config
    period = dashboard.period
    with force_locale(locale):
        span = _("du %(start)s au %(end)s", start=long_date(period.start), end=long_date(period.end))
        title = _("Rapport mensuel du commerce en ligne")
        pdf = new_document(
            heading=config["MARKETPLACE_NAME"],
            reference=span,
            title=f"{title} — {period.start:%Y-%m}",
            author=config["PLATFORM_LEGAL_NAME"],
            locale=locale,
        )
        pdf.title_line(title)
        pdf.paragraph(
            _(
                "Chiffres %(span)s, comparés à la période précédente (%(before)s).",
                span=span,
                before=_(
                    "du %(start)s au %(end)s",
                    start=long_date(dashboard.previous.start),
                    end=long_date(dashboard.previous.end),
                ),
            )
        )
        rows = [
            [
                label.replace("%%", "%"),
                _display(dashboard.totals, key, locale),
                _display(dashboard.before, key, locale),
            ]
            for key, label, _value in indicators(dashboard.totals)
        ]
        pdf.lines_table(
            [_("Indicateur"), _("Ce mois"), _("Mois précédent")],
            rows,
            col_widths=(3, 1.5, 1.5),
            text_align=(Align.L, Align.R, Align.R),
        )
        for chart in dashboard.charts:
            if chart.name == "ventes":
                continue  # one line a day: the spreadsheet has it
            pdf.title_line(str(chart.title))
            if chart.summary:
                pdf.paragraph(str(chart.summary))
            rates = chart.extra.get("rates", ())
            cells = [
                [
                    format_money(int(value), locale=locale)
                    if index < len(chart.money) and chart.money[index]
                    else format_rate(int(value), locale=locale)
                    if index < len(rates) and rates[index]
                    else str(value)
                    for index, value in enumerate(row)
                ]
                for row in chart.rows
            ] or [[_("Aucune donnée")] + [""] * (len(chart.headers) - 1)]
            pdf.lines_table(
                [str(header) for header in chart.headers],
                cells,
                col_widths=(3, *([1.5] * (len(chart.headers) - 1))),
                text_align=(Align.L, *([Align.R] * (len(chart.headers) - 1))),
            )
        return output(pdf)
