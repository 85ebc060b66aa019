"""Charts drawn on the server as SVG with pygal: no JavaScript, no third-party file.

Pages show each chart as an ``<img>`` of its own ``image/svg+xml`` response, whose policy lets the SVG
use the style sheet pygal writes into it (the pages' own policy forbids inline styles). The numbers
are always in a table next to the chart, so the image only draws them. Sizes and fonts are chosen so
that the chart stays legible scaled down to a 390 px phone.
"""

from __future__ import annotations

import re
import sys
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from babel.numbers import format_compact_currency
from flask import Response

from app.figures.services import Chart

if TYPE_CHECKING:
    from pygal.style import Style


@cache
def _pygal() -> ModuleType:
    """pygal, imported at the first chart drawn rather than by every page's worker."""
    import pygal

    # pygal adds an import hook for its old map plugins; it has no find_spec, so every import that fails
    # anywhere after it (an optional dependency's probe) also warns. Nothing here needs it.
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, pygal.PluginImportFixer)]
    return pygal


# The policy of a chart's own response: its inline style sheet, nothing else.
SVG_POLICY = {"default-src": "'none'", "style-src": "'unsafe-inline'", "frame-ancestors": "'self'"}
SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


@cache
def _style() -> Style:
    from pygal.style import Style

    _pygal()
    return Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#1d2733",
        foreground_strong="#1d2733",
        foreground_subtle="#c9d1da",
        opacity="0.9",
        opacity_hover="0.9",
        colors=("#1f5f8b", "#d9822b", "#3a8d5c", "#8e44ad", "#c0392b", "#5d6d7e", "#b7950b", "#117a65"),
        value_colors=("#ffffff",),  # a value printed on its bar
        font_family="DejaVu Sans, Verdana, sans-serif",
        title_font_size=24,
        label_font_size=19,
        major_label_font_size=19,
        legend_font_size=22,
        value_font_size=18,
        tooltip_font_size=18,
    )


# Drawn small and scaled to the panel: on a 390 px phone the labels stay about 15 px high.
WIDTH, HEIGHT = 440, 330


def _euros(cents: int) -> int:
    """Whole euros, for drawing only (the table beside the chart has the exact amounts)."""
    return (cents + 50) // 100


def _config(**extra: Any) -> dict[str, Any]:
    return {
        "js": [],
        "style": _style(),
        "width": WIDTH,
        "height": HEIGHT,
        "explicit_size": True,
        "disable_xml_declaration": True,
        "show_legend": False,
        "margin": 12,
        "truncate_label": 16,
        "print_values": False,
        "max_scale": 6,  # a handful of graduations, legible on a phone
        **extra,
    }


def render(chart: Chart, locale: str | None = None) -> str:
    """The chart's SVG: its first value column is drawn (in euros when it is money)."""
    money = bool(chart.money[1]) if len(chart.money) > 1 else False
    values = [int(row[1]) for row in chart.rows]
    drawn = [_euros(value) for value in values] if money else values

    def formatter(value: float) -> str:
        if not money:
            return f"{int(value)}"
        return format_compact_currency(int(value), "EUR", locale=locale or "fr", fraction_digits=1)

    pygal = _pygal()
    title = str(chart.headers[1])
    graph: Any
    if chart.kind == "pie":
        graph = pygal.Pie(
            legend_box_size=18,
            **_config(show_legend=True, legend_at_bottom=True, legend_at_bottom_columns=1, inner_radius=0.45),
        )
        graph.height = HEIGHT + 40 * min(len(chart.rows), 8)
        for row, value in zip(chart.rows, drawn, strict=True):
            if value:
                graph.add(f"{row[0]} ({value})", [value])
    elif chart.kind == "hbar":
        rows = list(zip(chart.rows, drawn, strict=True))[::-1]  # pygal draws the first at the bottom
        graph = pygal.HorizontalBar(
            **_config(value_formatter=formatter, truncate_label=18, show_x_labels=False, print_values=True)
        )
        graph.height = max(HEIGHT, 60 + 44 * len(rows))
        graph.x_labels = [str(row[0]) for row, _value in rows]
        graph.add(title, [value for _row, value in rows])
    else:
        labels = [str(label) for label in chart.extra.get("short_labels", ())] or [
            _short(str(row[0])) for row in chart.rows
        ]
        many = len(labels) > 12
        options = _config(
            value_formatter=formatter,
            x_label_rotation=45 if many else 0,
            show_minor_x_labels=not many,
            x_labels_major_every=max(1, len(labels) // 6) if many else None,
        )
        graph = (
            pygal.Line(**options, fill=True, show_dots=False)
            if chart.kind == "line"
            else pygal.Bar(**options)
        )
        graph.x_labels = labels
        graph.add(title, drawn)
    graph.title = None
    return SCRIPT.sub("", graph.render(is_unicode=True))


def _short(label: str) -> str:
    """A day ``2026-12-05`` as ``05/12``; other labels as they are."""
    if len(label) == 10 and label[4] == "-" and label[7] == "-":
        return f"{label[8:10]}/{label[5:7]}"
    return label


def svg_response(chart: Chart, locale: str | None = None) -> Response:
    response = Response(render(chart, locale), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
