"""Charts of the PDF reports drawn with reportlab.graphics: the dose history as a step chart and
outcomes over time as lines with markers. Chart coordinates are drawing positions only; every
value printed on a report comes from painpump.core or the stored records. The time axis counts
the clinic's days: a position is the clinic's wall-clock time in days, so a whole number is a
local midnight (a daylight-saving day is 23 or 25 hours long in real time), and the axis labels
are the clinic's dates in its format."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import Marker
from reportlab.lib import colors

from painpump.core.locale import ClinicLocale
from painpump.web.reports.layout import INK, MUTED, RULE, WIDTH, fonts

PALETTE = (
    colors.HexColor("#1f5f99"),
    colors.HexColor("#b3541e"),
    colors.HexColor("#2e7d32"),
    colors.HexColor("#6a3d9a"),
    colors.HexColor("#8c6d1f"),
)
SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class Line:
    """One series of a chart: its name and (time, value) points in time order."""

    name: str
    points: Sequence[tuple[datetime, Decimal]]


def position(locale: ClinicLocale, moment: datetime) -> float:
    """A moment as a chart position: days of the clinic's wall clock since 1970-01-01 (drawing
    coordinates only)."""
    wall = locale.local(moment).replace(tzinfo=UTC)  # the clinic's wall-clock reading
    return wall.timestamp() / SECONDS_PER_DAY


def date_label(locale: ClinicLocale) -> Callable[[float], str]:
    """The axis label of a position: the clinic's day at that wall-clock reading."""

    def label(x: float) -> str:
        wall = datetime.fromtimestamp(x * SECONDS_PER_DAY, UTC)
        return locale.format_date(wall.date())

    return label


def _frame(title: str, width: float, height: float) -> Drawing:
    _, heavy = fonts()
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 10, title, fontName=heavy, fontSize=8.5, fillColor=INK))
    return drawing


def _plot(
    lines: Sequence[Sequence[tuple[float, float]]],
    *,
    width: float,
    height: float,
    y_min: float,
    y_max: float | None,
    markers: bool,
    locale: ClinicLocale,
) -> LinePlot:
    regular, _ = fonts()
    xs = [x for line in lines for x, _ in line]
    ys = [y for line in lines for _, y in line]
    low, high = min(xs), max(xs)
    if high - low < 1:
        low, high = low - 1, high + 1
    top = y_max if y_max is not None else max(max(ys) * 1.15, y_min + 1)
    plot = LinePlot()
    plot.x, plot.y = 42, 18
    plot.width, plot.height = int(width - 52), int(height - 40)
    plot.data = [list(line) for line in lines]
    plot.joinedLines = 1
    for index in range(len(lines)):
        plot.lines[index].strokeColor = PALETTE[index % len(PALETTE)]
        plot.lines[index].strokeWidth = 1.4
        if markers:
            plot.lines[index].symbol = Marker(kind="Circle", size=3)
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.labels.fontName = regular
        axis.labels.fontSize = 6.5
        axis.labels.fillColor = MUTED
        axis.strokeColor = RULE
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = low, high
    plot.xValueAxis.labelTextFormat = date_label(locale)
    plot.xValueAxis.maximumTicks = 6
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax = y_min, top
    plot.yValueAxis.visibleGrid = 1
    plot.yValueAxis.gridStrokeColor = RULE
    plot.yValueAxis.gridStrokeWidth = 0.3
    return plot


def _legend(drawing: Drawing, names: Sequence[str], x: float, y: float) -> None:
    regular, _ = fonts()
    legend = Legend()
    legend.x, legend.y = int(x), int(y)
    legend.fontName, legend.fontSize = regular, 7
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.deltax = 90
    legend.colorNamePairs = [(PALETTE[i % len(PALETTE)], n) for i, n in enumerate(names)]
    drawing.add(legend)


def step_chart(
    title: str,
    steps: Sequence[tuple[datetime, datetime | None, Decimal]],
    *,
    until: datetime,
    locale: ClinicLocale,
    height: float = 150,
) -> Drawing:
    """A value held from each step's start to its end (or `until` while it runs), drawn as a
    staircase: the dose history of the programs."""
    points: list[tuple[float, float]] = []
    for start, end, value in steps:
        stop = end or max(until, start + timedelta(hours=1))
        points += [(position(locale, start), float(value)), (position(locale, stop), float(value))]
    drawing = _frame(title, WIDTH, height)
    drawing.add(
        _plot(
            [points],
            width=WIDTH,
            height=height,
            y_min=0,
            y_max=None,
            markers=False,
            locale=locale,
        )
    )
    return drawing


def line_chart(
    title: str,
    lines: Sequence[Line],
    *,
    locale: ClinicLocale,
    y_min: float = 0,
    y_max: float | None = None,
    width: float = WIDTH,
    height: float = 130,
) -> Drawing:
    """Measurements over time, one line with markers per series and a legend when there are
    several (Ashworth for each limb)."""
    drawing = _frame(title, width, height)
    series = [[(position(locale, at), float(value)) for at, value in line.points] for line in lines]
    drawing.add(
        _plot(
            series,
            width=width,
            height=height,
            y_min=y_min,
            y_max=y_max,
            markers=True,
            locale=locale,
        )
    )
    if len(lines) > 1:
        _legend(drawing, [line.name for line in lines], width - 10, height - 6)
    return drawing
