"""Bar charts of the published figures, drawn on the server as SVG (no script, nothing from elsewhere).

A chart is a title, a description and one horizontal bar per figure, each labelled with its
category and its value in words and numbers, so nothing is said by colour alone; a
suppressed figure is drawn as a hatched stub marked "hidden" (its value is not known to the
page). The page puts the same figures in a table beside the chart, the text alternative
(``web/templates/web/figures/_bar_chart.html`` draws it; ``web/views/figures.py`` fills it).

Geometry is computed here in user units of the SVG's ``viewBox``: the picture scales with
the page's width and the text with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

WIDTH = 720
LABEL_WIDTH = 230  # the category labels, right-aligned against the bars
VALUE_ROOM = 150  # right of the longest bar, for its value
ROW_HEIGHT = 28
BAR_HEIGHT = 18
TOP = 8
HIDDEN_STUB = 24  # the width of a suppressed figure's hatched stub
MAX_LABEL_CHARS = 30  # longer labels are cut with … in the picture (the table has them whole)


@dataclass(frozen=True)
class Bar:
    label: str
    short_label: str
    value: float | None  # None: suppressed
    text: str  # the value as written beside the bar ("12", "3.5 h", "hidden")
    y: float
    text_y: float
    width: float
    value_x: float

    @property
    def suppressed(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class BarChart:
    key: str  # unique on the page: the SVG's ids derive from it
    title: str
    description: str
    bars: list[Bar]
    height: int
    width: int = WIDTH
    label_width: int = LABEL_WIDTH

    @property
    def axis_x(self) -> int:
        return self.label_width


def bar_chart(key: str, title: str, description: str, items: list[tuple[str, Any, str]]) -> BarChart:
    """A chart of ``items``: (label, value or None when suppressed, the value as text) in the order given."""
    values = [float(value) for _label, value, _text in items if value is not None]
    largest = max(values, default=0.0)
    room = WIDTH - LABEL_WIDTH - VALUE_ROOM
    bars = []
    for index, (label, value, text) in enumerate(items):
        y = TOP + index * ROW_HEIGHT
        if value is None:
            width = float(HIDDEN_STUB)
        else:
            number = float(value if not isinstance(value, Decimal) else float(value))
            width = round(room * number / largest, 1) if largest else 0.0
            width = max(width, 2.0) if number else 0.0  # a non-zero figure is always seen
        bars.append(Bar(
            label=label,
            short_label=label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…",
            value=None if value is None else float(value),
            text=text,
            y=y,
            text_y=y + BAR_HEIGHT - 4,
            width=width,
            value_x=LABEL_WIDTH + width + 6,
        ))
    height = TOP * 2 + max(len(items), 1) * ROW_HEIGHT
    return BarChart(key=key, title=title, description=description, bars=bars, height=height)
