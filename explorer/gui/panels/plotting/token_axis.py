"""An axis for explicit labels (tokens, layers) that lays them out without a painter.

pyqtgraph's ``AxisItem.generateDrawSpecs`` measures every label with
``QPainter.boundingRect`` and builds a ``Point`` per tick on each redraw; token axes are
redrawn on every result, and with pyqtgraph's own layout that is the largest single cost of
painting a result at 8 tokens. For one level of explicit ticks this item computes the
same specs from remembered text widths. Anything else goes to pyqtgraph's own code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen, QPicture

_METRICS: dict[str, QFontMetricsF] = {}


@functools.lru_cache(maxsize=32768)
def _advance(font_key: str, text: str) -> float:
    return _METRICS[font_key].horizontalAdvance(text)


def label_extent(font: QFont) -> Callable[[str], float]:
    """How much length a label takes along a horizontal axis: its width.

    Widths are remembered per font and text: token axes measure every label on each result
    and each token switch (3 µs a label, 1.5 ms per axis at 512 tokens, otherwise).
    """
    _METRICS.setdefault(font.key(), QFontMetricsF(font))
    return functools.partial(_advance, font.key())


def line_height(font: QFont) -> float:
    """How much length every label takes along a vertical axis: one line."""
    return _METRICS.setdefault(font.key(), QFontMetricsF(font)).height()


_ALIGN = {
    "left": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
    "right": Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
    "top": Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
    "bottom": Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
}
_FLAGS = {side: align | Qt.TextFlag.TextDontClip for side, align in _ALIGN.items()}
_LINE_HEIGHTS: dict[str, float] = {}


def _text_height(font: QFont) -> float:
    """The label height pyqtgraph uses: the line height less the 20 % it trims."""
    key = font.key()
    if key not in _LINE_HEIGHTS:
        _LINE_HEIGHTS[key] = QFontMetricsF(font).height() * 0.8
    return _LINE_HEIGHTS[key]


LABEL_OVERHANG = 64  # pixels a label may reach past either end of its axis
_DRAWN_DIRECTLY = QPicture()  # stands in for pyqtgraph's picture while the specs are kept


class TokenAxisItem(pg.AxisItem):
    """An AxisItem whose explicit one-level ticks are laid out from cached text widths.

    It also paints straight from those specs: pyqtgraph records a QPicture and plays it back,
    which lays every label out twice (0.41 ms for 22 labels, against 0.23 ms from the specs).
    pyqtgraph still tells when to redraw by setting ``picture`` to None.
    """

    _specs: tuple | None = None

    def __init__(self, orientation: str, **kwargs: object) -> None:
        super().__init__(orientation, **kwargs)
        # Labels may reach this far past the axis's ends: the selected token's label is always
        # on the axis, also for the first or last token of a map that fills its view.
        self.setStyle(hideOverlappingLabels=LABEL_OVERHANG)

    def paint(self, p: QPainter, opt: object, widget: object) -> None:
        """Draw the axis from specs made once per change."""
        if not self._takes_fast_path():
            if self.picture is _DRAWN_DIRECTLY:
                self.picture = None
            super().paint(p, opt, widget)
            return
        if self.picture is not _DRAWN_DIRECTLY:
            if self.style["tickFont"] is not None:
                p.setFont(self.style["tickFont"])
            self._specs = self.generateDrawSpecs(p)
            self.picture = _DRAWN_DIRECTLY
        if self._specs is not None:
            self.drawPicture(p, *self._specs)

    def _takes_fast_path(self) -> bool:
        style = self.style
        levels = self._tickLevels
        return (
            levels is not None
            and len(levels) == 1
            and self.grid is False
            and style["tickFont"] is not None
            and style["showValues"]
            and style["tickAlpha"] is None
            and not any(style["stopAxisAtTick"])
            and self.linkedView() is not None
        )

    def generateDrawSpecs(self, p: QPainter):
        """The axis line, tick lines and label rects, as pyqtgraph's drawPicture takes them."""
        if not self._takes_fast_path():
            return super().generateDrawSpecs(p)
        bounds = self.mapRectFromParent(self.geometry())
        if bounds.width() <= 0 or bounds.height() <= 0:
            return None
        side = self.orientation
        vertical = side in ("left", "right")
        low, high = self.range
        difference = high - low
        if difference == 0:
            scale, offset = 1.0, 0.0
        elif vertical:
            scale = -bounds.height() / difference
            offset = low * scale - bounds.height()
        else:
            scale = bounds.width() / difference
            offset = low * scale
        first, last = sorted((low * scale - offset, high * scale - offset))

        if side == "left":
            span = (bounds.topRight() + QPointF(-1, -1), bounds.bottomRight() + QPointF(-1, 1))
            stop, direction = bounds.right(), -1
        elif side == "right":
            span = (bounds.topLeft() + QPointF(1, -1), bounds.bottomLeft() + QPointF(1, 1))
            stop, direction = bounds.left(), 1
        elif side == "top":
            span = (bounds.bottomLeft() + QPointF(-1, -1), bounds.bottomRight() + QPointF(1, -1))
            stop, direction = bounds.bottom(), -1
        else:
            span = (bounds.topLeft() + QPointF(-1, 1), bounds.topRight() + QPointF(1, 1))
            stop, direction = bounds.top(), 1

        tick_pen = QPen(self.tickPen())
        if tick_pen.brush().style() == Qt.BrushStyle.SolidPattern:
            color = QColor(tick_pen.color())
            color.setAlpha(255)
            tick_pen.setColor(color)
        tick_length = self.style["tickLength"]
        tick_end = stop + tick_length * direction

        font = self.style["tickFont"]
        width_of = label_extent(font)
        height = _text_height(font)
        gap = max(0, tick_length) + self.style["tickTextOffset"][0 if vertical else 1]
        clip = self.boundingRect()
        flags = _FLAGS[side]
        tick_specs = []
        text_specs = []
        widest = 0.0
        for value, text in self._tickLevels[0]:
            at = value * scale - offset
            if at < first or at > last:
                continue
            if vertical:
                tick_specs.append((tick_pen, QPointF(stop, at), QPointF(tick_end, at)))
            else:
                tick_specs.append((tick_pen, QPointF(at, stop), QPointF(at, tick_end)))
            width = width_of(text)
            widest = max(widest, width)
            if side == "left":
                rect = QRectF(stop - gap - width, at - height / 2, width, height)
            elif side == "right":
                rect = QRectF(stop + gap, at - height / 2, width, height)
            elif side == "top":
                rect = QRectF(at - width / 2, stop - gap - height, width, height)
            else:
                rect = QRectF(at - width / 2, stop + gap, width, height)
            if clip & rect == rect:  # as pyqtgraph: a label that sticks out is left off
                text_specs.append((rect, flags, text))
        self._updateMaxTextSize(widest if vertical else (height if tick_specs else 0))
        return (self.pen(), span[0], span[1]), tick_specs, text_specs
