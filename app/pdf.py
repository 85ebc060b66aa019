"""What every PDF of the marketplace shares: an A4 document in DejaVu Sans with its header and
"Page 1/2" footer, text, form and table helpers, and dates and countries in the document's language.

DejaVu Sans has "€", the French letters and typographic punctuation the PDF core fonts lack; it is read
from ``PDF_FONT_DIR`` (Debian's fonts-dejavu-core). Amounts are formatted with ``app.money.format_money``,
which follows the language forced around the drawing (``flask_babel.force_locale``).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from babel import Locale
from flask import current_app, send_file
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from fpdf import FPDF, FontFace
from fpdf.enums import Align, TableBordersLayout, XPos, YPos
from werkzeug.wrappers import Response

__all__ = [
    "BOLD",
    "FONT_FAMILY",
    "FONT_FILES",
    "FONT_PACKAGE",
    "FORM_LINE_HEIGHT",
    "HEADINGS",
    "LINE_HEIGHT",
    "Document",
    "FontMissingError",
    "add_fonts",
    "country_name",
    "long_date",
    "new_document",
    "output",
    "short_date",
]

FONT_FAMILY = "DejaVuSans"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FONT_PACKAGE = "fonts-dejavu-core"  # the Debian package that ships FONT_FILES

BOLD = FontFace(emphasis="BOLD")
HEADINGS = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
LINE_HEIGHT = 5.0
FORM_LINE_HEIGHT = 8.0  # room to write by hand

Orientation = Literal["portrait", "landscape"]
PDF_A = "PDFA_3B"


class FontMissingError(RuntimeError):
    """The PDF font is not installed on this machine."""


class Document(FPDF):
    """A4 page with a heading (who issues it) as header and "Page 1/2" in the footer."""

    def __init__(
        self, heading: str, reference: str, orientation: Orientation = "portrait", *, pdf_a: bool = False
    ) -> None:
        # PDF/A-3b (an e-invoice's container): fpdf2 adds the sRGB output intent and checks the rest.
        super().__init__(
            orientation=orientation, unit="mm", format="A4", enforce_compliance=PDF_A if pdf_a else None
        )
        self.heading = heading
        self.reference = reference
        add_fonts(self)
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_font(FONT_FAMILY, size=9.5)

    def header(self) -> None:
        self.set_font(FONT_FAMILY, "B", 15)
        self.cell(w=self.epw * 0.65, h=8, text=self.heading)
        self.set_font(FONT_FAMILY, size=9)
        self.cell(w=0, h=8, text=self.reference, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(160, 160, 160)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.set_draw_color(0, 0, 0)
        self.ln(5)
        self.set_font(FONT_FAMILY, size=9.5)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT_FAMILY, size=8)
        self.set_text_color(90, 90, 90)
        page = _("Page %(page)s/%(pages)s", page=self.page_no(), pages=self.str_alias_nb_pages)
        self.cell(w=0, h=5, text=f"{self.heading} · {self.reference}", align=Align.L)
        self.set_x(self.l_margin)
        self.cell(w=0, h=5, text=page, align=Align.R)
        self.set_text_color(0, 0, 0)

    def title_line(self, text: str) -> None:
        self.set_font(FONT_FAMILY, "B", 13)
        self.multi_cell(w=0, h=7, text=text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT_FAMILY, size=9.5)

    def paragraph(self, text: str, *, bold: bool = False, size: float = 9.5, gap: float = 1.5) -> None:
        self.set_font(FONT_FAMILY, "B" if bold else "", size)
        self.multi_cell(w=0, h=LINE_HEIGHT, text=text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT_FAMILY, size=9.5)
        self.ln(gap)

    def field(self, label: str, value: str = "", *, bold: bool = False, gap: float = 3) -> None:
        """A form's line: its label, then the value, or a rule to write on when there is none."""
        if value:
            self.paragraph(f"{label} {value}", bold=bold, gap=gap)
            return
        self.set_font(FONT_FAMILY, "B" if bold else "", 9.5)
        self.cell(w=self.get_string_width(label) + 2, h=FORM_LINE_HEIGHT, text=label)
        self.rule(start=self.get_x())
        self.set_font(FONT_FAMILY, size=9.5)
        self.ln(gap)

    def rule(self, start: float | None = None) -> None:
        """A line to write on, from ``start`` (the left margin) to the right margin."""
        baseline = self.get_y() + FORM_LINE_HEIGHT - 1.5
        self.set_draw_color(150, 150, 150)
        self.line(self.l_margin if start is None else start, baseline, self.w - self.r_margin, baseline)
        self.set_draw_color(0, 0, 0)
        self.set_xy(self.l_margin, self.get_y() + FORM_LINE_HEIGHT)

    def blocks(self, *columns: tuple[str, Sequence[str]]) -> None:
        """Side-by-side blocks of text (seller and buyer...), each under its bold heading."""
        with self.table(
            borders_layout=TableBordersLayout.NONE,
            headings_style=BOLD,
            text_align=Align.L,
            line_height=LINE_HEIGHT,
            padding=(0, 2, 0, 0),
            v_align="TOP",
        ) as table:
            headings = table.row()
            for heading, _lines in columns:
                headings.cell(heading)
            row = table.row()
            for _heading, lines in columns:
                row.cell("\n".join(line for line in lines if line))
        self.ln(4)

    def lines_table(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        col_widths: Sequence[float],
        text_align: Sequence[Align],
        bold_rows: Sequence[int] = (),
        size: float = 9.5,
    ) -> None:
        """A table of lines under shaded headings (repeated on each page), rows ``bold_rows`` in bold."""
        self.set_font(FONT_FAMILY, size=size)
        with self.table(
            col_widths=tuple(col_widths),
            text_align=tuple(text_align),
            headings_style=HEADINGS,
            line_height=LINE_HEIGHT if size >= 9 else LINE_HEIGHT - 1,
            padding=1,
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        ) as table:
            table.row(list(headings))
            for index, cells in enumerate(rows):
                table.row(list(cells), style=BOLD if index in bold_rows else None)
        self.set_font(FONT_FAMILY, size=9.5)
        self.ln(4)

    def totals(
        self,
        rows: Sequence[tuple[str, str]],
        *,
        width: float = 0.45,
        col_widths: tuple[float, float] = (3, 2),
        bold_last: bool = True,
    ) -> None:
        """Label and amount pairs at the right of the page (totals, balances), the last one in bold;
        ``width``: the share of the page's width."""
        with self.table(
            width=self.epw * width,
            col_widths=col_widths,
            align=Align.R,
            text_align=(Align.L, Align.R),
            first_row_as_headings=False,
            line_height=LINE_HEIGHT + 1,
            padding=1,
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        ) as table:
            for index, (label, amount) in enumerate(rows):
                last = index == len(rows) - 1
                table.row([label, amount], style=BOLD if bold_last and last else None)
        self.ln(4)


def add_fonts(pdf: FPDF) -> None:
    directory = Path(current_app.config["PDF_FONT_DIR"])
    for style, filename in FONT_FILES.items():
        path = directory / filename
        if not path.is_file():
            raise FontMissingError(
                f"{path} not found: the PDF documents need DejaVu Sans. Install Debian's {FONT_PACKAGE} "
                f"package (apt-get install {FONT_PACKAGE}, or make browser) or set PDF_FONT_DIR to a "
                f"folder holding {', '.join(FONT_FILES.values())}."
            )
        pdf.add_font(FONT_FAMILY, style, str(path))


def new_document(
    heading: str,
    reference: str,
    title: str,
    author: str,
    locale: str,
    *,
    orientation: Orientation = "portrait",
    pdf_a: bool = False,
) -> Document:
    """A document with its metadata and its first page; draw on it, then ``output`` it. ``pdf_a``: an
    archival PDF/A-3 document, as an e-invoice (Factur-X) must be."""
    pdf = Document(heading, reference, orientation, pdf_a=pdf_a)
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_creator(current_app.config["MARKETPLACE_NAME"])
    pdf.set_lang(locale)
    pdf.add_page()
    return pdf


def output(pdf: FPDF) -> bytes:
    return bytes(pdf.output())


def long_date(value: dt.date | dt.datetime) -> str:
    """The date as "14 mars 2026" in French (a datetime is shown on the town's calendar)."""
    return format_date(value, "long")


def short_date(value: dt.date | dt.datetime) -> str:
    """The date as "14/03/2026" in French, for table cells."""
    return format_date(value, "short")


def country_name(code: str) -> str:
    locale = get_locale() or Locale.parse("fr")
    return str(locale.territories.get(code, code))


def download(content: bytes, name: str) -> Response:
    """A PDF as the answer to a request, downloaded under ``name``, never cached."""
    return send_file(io.BytesIO(content), mimetype="application/pdf", download_name=name, max_age=0)
