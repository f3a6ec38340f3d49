"""Page furniture shared by the PDF reports: fonts, styles, the header naming the patient on
every page, the footer (page N of M, print time, "painpump is not a medical device"), and the
building blocks (headings, fact tables, data tables, the unverified banner). Every moment and
date a person reads is on the clinic's wall clock and in its formats (core.locale.ClinicLocale,
carried with the report's data): "31.10.2026 05:00 EDT", never UTC."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    LayoutError,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from painpump.clinic.reads.report_data import PatientIdentity
from painpump.core.locale import ClinicLocale

NOT_A_DEVICE = "painpump is not a medical device"
PAGE = A4
MARGIN = 16 * mm
WIDTH = PAGE[0] - 2 * MARGIN
TOP, BOTTOM = MARGIN + 6, MARGIN + 4
FRAME_PADDING = 6
"""reportlab's padding of the page's frame, on each side."""
HEIGHT = PAGE[1] - TOP - BOTTOM - 2 * FRAME_PADDING
"""The height of a page's text area in points: no part of a report that does not split may be
taller."""
INK = colors.HexColor("#1b2430")
MUTED = colors.HexColor("#5a6472")
RULE = colors.HexColor("#c9d0d8")
SHADE = colors.HexColor("#eef2f6")
ALERT = colors.HexColor("#a4161a")
ALERT_SHADE = colors.HexColor("#fde8e8")

# DejaVu Sans, bundled (fonts/README.md): it covers the Latin, Greek and Cyrillic letters of
# patients' names on every installation.
_FONTS = Path(__file__).parent / "fonts"
REGULAR, BOLD = "Report", "Report-Bold"


@cache
def fonts() -> tuple[str, str]:
    """Registers the report fonts once; returns (regular, bold) font names."""
    pdfmetrics.registerFont(TTFont(REGULAR, str(_FONTS / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(_FONTS / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD)
    return REGULAR, BOLD


def _style(name: str, size: float, *, bold: bool = False, **extra: Any) -> ParagraphStyle:
    regular, heavy = fonts()
    return ParagraphStyle(
        name,
        fontName=heavy if bold else regular,
        fontSize=size,
        leading=size * 1.3,
        textColor=extra.pop("textColor", INK),
        **extra,
    )


@cache
def styles() -> dict[str, ParagraphStyle]:
    return {
        "title": _style("title", 16, bold=True, spaceAfter=2),
        "subtitle": _style("subtitle", 9.5, textColor=MUTED, spaceAfter=6),
        "h2": _style("h2", 11.5, bold=True, spaceBefore=9, spaceAfter=4, keepWithNext=1),
        "body": _style("body", 9),
        "small": _style("small", 7.5, textColor=MUTED),
        "count": _style("count", 7.5, textColor=MUTED, keepWithNext=1),
        "cell": _style("cell", 7.5),
        "cell_bold": _style("cell_bold", 7.5, bold=True),
        "banner": _style("banner", 13, bold=True, textColor=ALERT, alignment=1),
        "banner_text": _style("banner_text", 8.5, textColor=ALERT, alignment=1),
    }


def text(value: object, style: str = "body") -> Paragraph:
    """A paragraph of plain text: record values are escaped, never read as markup."""
    return Paragraph(escape(str(value)), styles()[style])


def lines(*values: object, style: str = "cell") -> Paragraph:
    """Values on lines of their own in one cell, each escaped."""
    return Paragraph("<br/>".join(escape(str(v)) for v in values), styles()[style])


def bold(value: object, style: str = "cell_bold") -> Paragraph:
    return text(value, style)


def moment(locale: ClinicLocale, at: datetime | None) -> str:
    """A moment as printed on the reports: the clinic's day and wall-clock time to the minute,
    in its formats, with the zone's abbreviation ("31.10.2026 05:00 EDT")."""
    return "" if at is None else locale.format_moment(at)


def day(locale: ClinicLocale, on: date | None) -> str:
    """A clinic day as printed on the reports: the clinic's date format and the weekday."""
    return "" if on is None else f"{locale.format_date(on)} ({on:%a})"


def short_day(locale: ClinicLocale, on: date | None) -> str:
    """A clinic day in a narrow table column: the clinic's date format alone."""
    return "" if on is None else locale.format_date(on)


def local_day(locale: ClinicLocale, at: datetime) -> date:
    """The clinic's calendar day of a moment."""
    return locale.local(at).date()


def heading(title: str) -> Paragraph:
    return text(title, "h2")


def note(value: str) -> Paragraph:
    return text(value, "small")


def count(value: str) -> Paragraph:
    """A line stating how many entries a table shows, kept with the table."""
    return text(value, "count")


SPLIT_IN_ROW = 30
"""The least height in points of either part of a row split across pages (about three lines of
cell text). A row that no page's space left holds whole runs on under the header repeated on the
next page: a cell taller than a page no longer stops the PDF (reportlab's LayoutError), and no
line of it is cut off."""


def _grid(rows: list[list[Any]], widths: Sequence[float], commands: list[Any]) -> Table:
    table = Table(
        rows, colWidths=list(widths), hAlign="LEFT", repeatRows=0, splitInRow=SPLIT_IN_ROW
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                *commands,
            ]
        )
    )
    return table


def facts(pairs: Sequence[tuple[str, object]], columns: int = 2) -> Table:
    """Label/value pairs laid out in `columns` label-value column pairs."""
    cells = [(bold(label), text(value, "cell")) for label, value in pairs]
    rows: list[list[Any]] = []
    for start in range(0, len(cells), columns):
        row: list[Any] = []
        for label, value in cells[start : start + columns]:
            row += [label, value]
        row += [""] * (2 * columns - len(row))
        rows.append(row)
    share = WIDTH / columns
    widths = [share * 0.36, share * 0.64] * columns
    return _grid(rows, widths, [])


def table(
    header: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float]
) -> Table:
    """A data table with a shaded header row that repeats on every page it spans; `widths` are
    fractions of the text width."""
    head: list[Any] = [bold(h) for h in header]
    body: list[list[Any]] = [
        [cell if isinstance(cell, Flowable) else text(cell, "cell") for cell in row] for row in rows
    ]
    grid = _grid(
        [head, *body],
        [WIDTH * w for w in widths],
        [("BACKGROUND", (0, 0), (-1, 0), SHADE), ("LINEBELOW", (0, 0), (-1, 0), 0.8, MUTED)],
    )
    grid.repeatRows = 1
    return grid


def banner(title: str, detail: str) -> Table:
    """A boxed alert that cannot be missed (a change waiting for its second clinician)."""
    box = Table([[text(title, "banner")], [text(detail, "banner_text")]], colWidths=[WIDTH])
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 2, ALERT),
                ("BACKGROUND", (0, 0), (-1, -1), ALERT_SHADE),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return box


def section(title: str, *body: Flowable) -> KeepTogether:
    """A heading kept on the page of the first lines that follow it."""
    return KeepTogether([heading(title), *body])


def gap(points: float = 4) -> Spacer:
    return Spacer(1, points)


def _canvas_maker(
    identity: PatientIdentity, title: str, printed_at: datetime, locale: ClinicLocale
) -> type[Canvas]:
    """A canvas that holds its pages until the end, so each can say "page N of M", and draws
    the header (report and patient) and footer on every page."""

    born = locale.format_date(identity.birth_date)
    header_left = f"{title} · {identity.name} · MRN {identity.mrn} · born {born}"
    footer_middle = f"Printed {moment(locale, printed_at)} · {NOT_A_DEVICE}"

    class Numbered(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            # reportlab's page-count recipe: start the next page without emitting this one
            self._startPage()  # type: ignore[attr-defined]

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._furniture(number, total)
                super().showPage()
            super().save()

        def _furniture(self, number: int, total: int) -> None:
            regular, heavy = fonts()
            width, height = PAGE
            self.setStrokeColor(RULE)
            self.setLineWidth(0.6)
            self.setFillColor(MUTED)
            size = 7.5
            while size > 5 and pdfmetrics.stringWidth(header_left, regular, size) > WIDTH:
                size -= 0.5
            self.setFont(regular, size)
            self.drawString(MARGIN, height - MARGIN + 6, header_left)
            self.setFont(regular, 7.5)
            self.line(MARGIN, height - MARGIN + 3, width - MARGIN, height - MARGIN + 3)
            self.line(MARGIN, MARGIN - 4, width - MARGIN, MARGIN - 4)
            self.drawString(MARGIN, MARGIN - 13, footer_middle)
            self.setFont(heavy, 7.5)
            self.drawRightString(width - MARGIN, MARGIN - 13, f"Page {number} of {total}")

    return Numbered


class NotLaidOut(Exception):
    """A report reportlab could not lay out on its pages. The message names the report and the
    page's limit, never the content that did not fit (it can quote patient data)."""

    def __init__(self, title: str) -> None:
        super().__init__(
            f"{title}: the PDF could not be laid out, a part of it is taller than a page and "
            f"does not split; limit: {HEIGHT:.0f} pt, the text area of an A4 page "
            f"(source: painpump's report layout). Nothing was changed."
        )
        self.title = title


def render(
    story: Sequence[Flowable],
    *,
    title: str,
    identity: PatientIdentity,
    printed_at: datetime,
    locale: ClinicLocale,
) -> bytes:
    """The PDF of `story` with the report's page furniture on every page; NotLaidOut when a
    part of it fits no page."""
    fonts()
    out = BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=TOP,
        bottomMargin=BOTTOM,
        title=title,
        author="painpump",
        subject=NOT_A_DEVICE,
        creator="painpump",
    )
    maker: Callable[..., Canvas] = _canvas_maker(identity, title, printed_at, locale)
    try:
        document.build(list(story), canvasmaker=maker)
    except LayoutError as failed:
        raise NotLaidOut(title) from failed
    return out.getvalue()
