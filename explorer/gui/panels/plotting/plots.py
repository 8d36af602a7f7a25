"""Pieces every heatmap panel shares: a clickable, hoverable image item and token tick labels."""

from __future__ import annotations

import bisect
import html
import math
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsScene

from explorer.gui.panels.plotting.token_axis import TokenAxisItem, label_extent, line_height
from explorer.gui.style.plot_style import plain_numbers

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="w", foreground="k")

ATTENTION_COLORMAP = "viridis"
NORMS_COLORMAP = "inferno"
SELECTION_PEN = QPen(QColor(255, 80, 80), 0)
SELECTION_PEN.setCosmetic(True)
SELECTION_PEN.setWidthF(2.0)
GUIDE_PEN = QPen(QColor(128, 128, 128, 80), 0)  # cosmetic, readable on light and dark plots
GUIDE_PEN.setCosmetic(True)
NON_FINITE_BRUSH = QBrush(QColor(255, 0, 200), Qt.BrushStyle.BDiagPattern)  # not in any colormap
# Cells a model cannot attend to (a causal model's later tokens): no weight at all, so no
# colour of the scale either; a grey cross-hatch, unlike the magenta of non-finite cells.
MASKED_GROUND = QColor(172, 160, 140)  # a warm grey: no colormap, text or ground has it
MASKED_BRUSH = QBrush(QColor(225, 225, 225), Qt.BrushStyle.DiagCrossPattern)
MASKED_TEXT = "masked: a causal model's token cannot attend to later tokens"
HEATMAP_TICK_LENGTH = 4  # pixels; positive: out of the plot (pyqtgraph's default, -5, is in)


def causal_mask(size: int) -> np.ndarray:
    """The cells above the diagonal of a size × size query × key matrix (later keys)."""
    return np.triu(np.ones((size, size), dtype=bool), k=1)


def causal_mosaic_mask(layers: int, heads: int, tokens: int, factor: int, tile: int) -> np.ndarray:
    """The overview's masked pixels (a causal model's later keys, tile by tile).

    A tile pixel pools ``factor`` × ``factor`` tokens; it is masked when every key it covers
    comes after every query it covers (its first column past its last row).
    """
    rows = np.minimum((np.arange(tile) + 1) * factor - 1, tokens - 1)
    first_cols = np.arange(tile) * factor
    one_tile = first_cols[None, :] > rows[:, None]
    return np.tile(one_tile, (layers, heads))


def finite_top(values: np.ndarray, default: float = 1.0) -> float:
    """The largest finite value, or ``default`` when there is none above 0.

    Colour levels come from it, so one NaN or infinite cell does not wipe out the scale.
    """
    finite = values[np.isfinite(values)] if values.size else values
    top = float(finite.max()) if finite.size else 0.0
    return top if top > 0 else default


class CellImageItem(pg.ImageItem):
    """An ImageItem that reports which cell the pointer is over and which cell was clicked.

    pyqtgraph's docs warn against hover work in the scene; overriding hoverEvent on the item
    keeps it to one integer division per move.

    Non-finite cells (a model with NaN or infinite numbers) are drawn as such: they become
    transparent pixels over a hatched ground, never the colour of a real value (pyqtgraph
    would paint +inf in the top colour of the map).
    """

    cell_hovered = Signal(int, int)
    """The pointer is over (row, col); (-1, -1) when it leaves."""
    cell_clicked = Signal(int, int, object)
    """A left click on (row, col), with the keyboard modifiers."""

    has_non_finite = False
    """Whether the image on show has NaN or infinite cells (drawn hatched)."""
    mask: np.ndarray | None = None
    """Cells drawn as masked (grey cross-hatch), not as values: set with ``set_mask``."""
    _mask_path: QPainterPath | None = None

    def set_mask(self, mask: np.ndarray | None) -> None:
        """Cells to draw as masked from the next ``setImage`` on (None: none)."""
        self.mask = mask
        self._mask_path = None
        if mask is not None and mask.any():
            path = QPainterPath()
            for row in range(mask.shape[0]):
                columns = np.flatnonzero(mask[row])
                if columns.size:  # a causal mask is one run per row; others are split in runs
                    breaks = np.flatnonzero(np.diff(columns) > 1)
                    starts = np.r_[columns[0], columns[breaks + 1]]
                    ends = np.r_[columns[breaks], columns[-1]] + 1
                    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
                        path.addRect(QRectF(start, row, end - start, 1))
            self._mask_path = path.simplified()

    def setImage(self, image: np.ndarray | None = None, autoLevels: bool | None = None, **kwargs):
        """Show ``image``; NaN and ±inf cells are shown hatched instead of coloured."""
        if image is not None:
            finite = np.isfinite(image)
            self.has_non_finite = not bool(finite.all())
            masked = self.mask is not None and self.mask.shape == image.shape[:2]
            if self.has_non_finite or masked:
                hidden = ~finite if not masked else (~finite | self.mask)
                image = np.where(hidden, np.float32(np.nan), image).astype(np.float32)
        return super().setImage(image, autoLevels, **kwargs)

    def is_masked(self, row: int, col: int) -> bool:
        """Whether (row, col) is drawn as masked."""
        mask = self.mask
        return (
            mask is not None
            and 0 <= row < mask.shape[0]
            and 0 <= col < mask.shape[1]
            and (bool(mask[row, col]))
        )

    def paint(self, painter, *args) -> None:
        """The hatched grounds first, so transparent (non-finite, masked) cells show them."""
        if self.image is not None:
            if self.has_non_finite:
                painter.fillRect(self.boundingRect(), NON_FINITE_BRUSH)
            path = self._mask_path
            if path is not None and self.mask is not None and self.mask.shape == self.image.shape:
                painter.fillPath(path, MASKED_GROUND)
                painter.fillPath(path, MASKED_BRUSH)
        super().paint(painter, *args)

    def _cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        image = self.image
        if image is None:
            return None
        row, col = math.floor(pos.y()), math.floor(pos.x())
        if 0 <= row < image.shape[0] and 0 <= col < image.shape[1]:
            return row, col
        return None

    def hoverEvent(self, event) -> None:
        """Emit the hovered cell (pyqtgraph calls this for every pointer move)."""
        cell = None if event.isExit() else self._cell_at(event.pos())
        self.cell_hovered.emit(*(cell or (-1, -1)))

    def mouseClickEvent(self, event) -> None:
        """Emit the clicked cell and accept the click so the view does not pan."""
        if event.button() != Qt.MouseButton.LeftButton:
            return
        cell = self._cell_at(event.pos())
        if cell is not None:
            event.accept()
            self.cell_clicked.emit(cell[0], cell[1], event.modifiers())


def plot_widget(labelled_axes: bool = False) -> pg.PlotWidget:
    """A PlotWidget whose scene keeps no spatial index of its items.

    A plot holds a few dozen items that move on every result (axes, outlines, labels).
    Qt's BSP index is for large static scenes; re-indexing moved items costs more than the
    linear search it saves (as Qt advises for dynamic scenes), even at 8 tokens.
    ``labelled_axes`` gives the left and bottom axes the quick layout for explicit labels.
    """
    axes = {side: TokenAxisItem(side) for side in ("left", "bottom")} if labelled_axes else {}
    widget = pg.PlotWidget(axisItems=axes)
    widget.scene().setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
    for side in ("left", "bottom"):
        plain_numbers(widget.getPlotItem().getAxis(side))
    return widget


def make_heatmap_plot(
    colormap: str, levels: tuple[float, float], label: str, *, square: bool = False
) -> tuple[pg.PlotWidget, CellImageItem, pg.ColorBarItem]:
    """A plot with one image (rows drawn top-down) and a colour bar with fixed levels.

    ``square`` keeps cells square, which matters for query × key matrices.
    """
    widget = plot_widget(labelled_axes=True)
    plot = widget.getPlotItem()
    for side in ("left", "bottom"):
        # Ticks point out, to their labels: pointing in, a tick beside a cell's number
        # read as a minus sign ("−0.93").
        plot.getAxis(side).setStyle(tickLength=HEATMAP_TICK_LENGTH)
    plot.invertY(True)
    if square:
        plot.setAspectLocked(True)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.getViewBox().setMouseEnabled(x=False, y=False)
    # The map fills its view: the default padding left a tenth of the view empty on every
    # side, and smaller cells showed fewer token labels.
    plot.getViewBox().setDefaultPadding(0.0)
    image = CellImageItem(axisOrder="row-major")
    plot.addItem(image)
    bar = pg.ColorBarItem(values=levels, colorMap=colormap, interactive=False, label=label)
    bar.setImageItem(image, insert_in=plot)
    return widget, image, bar


def make_head_grid(
    label: str, tooltip: str
) -> tuple[pg.PlotWidget, CellImageItem, pg.ColorBarItem]:
    """A layer × head grid (layers down, heads across) with its colour bar.

    Head statistics, head importance and the corpus view share it, so a head sits in the
    same place, with the same numbering, wherever it is shown.
    """
    widget, image, bar = make_heatmap_plot(ATTENTION_COLORMAP, (0.0, 1.0), label)
    plot = widget.getPlotItem()
    plot.setLabel("left", "layer")
    plot.setLabel("bottom", "head")
    widget.setToolTip(tooltip)
    return widget, image, bar


def cell_texts(plot: pg.PlotItem, rows: int, cols: int) -> list[pg.TextItem]:
    """One centred, empty TextItem per cell of a rows × cols image, row by row, over it."""
    texts = []
    for row in range(rows):
        for col in range(cols):
            text = pg.TextItem("", anchor=(0.5, 0.5))
            text.setPos(col + 0.5, row + 0.5)
            text.setZValue(5)
            plot.addItem(text)
            texts.append(text)
    return texts


def show_head_values(
    widget: pg.PlotWidget,
    image: CellImageItem,
    bar: pg.ColorBarItem,
    values: np.ndarray,
    levels: tuple[float, float],
) -> None:
    """Paint (L, H) ``values`` on a head grid at fixed ``levels`` and number its cells."""
    image.setImage(as_image(values), levels=levels, autoLevels=False)
    bar.setLevels(levels)
    number_head_grid(widget.getPlotItem(), *values.shape)


def fit_minimum_width(widget: pg.PlotWidget) -> None:
    """Keep a plot widget as wide as its plot's layout needs (axes, title, colour bar).

    A PlotWidget's own minimum is a few pixels whatever it holds; narrower than its PlotItem's
    layout, the item overflows the widget and its right edge (a colour bar's numbers) is cut.
    Call it after the title, axis labels or ticks change.
    """
    needed = widget.getPlotItem().effectiveSizeHint(Qt.SizeHint.MinimumSize).width()
    if widget.minimumWidth() != math.ceil(needed):
        widget.setMinimumWidth(math.ceil(needed))


def guide_lines(parent_plot: pg.PlotItem) -> pg.PlotCurveItem:
    """Faint horizontal reference lines, drawn as segments of one curve item.

    Use these instead of ``showGrid``: pyqtgraph draws a grid inside its axis pictures, which
    costs about 4 ms on every repaint of even a small plot; this item costs about 0.3 ms.
    """
    item = pg.PlotCurveItem(pen=GUIDE_PEN, connect="pairs")
    item.setZValue(-10)
    parent_plot.addItem(item)
    return item


def place_guides(item: pg.PlotCurveItem, ys: Sequence[float], x0: float, x1: float) -> None:
    """Draw one guide line from ``x0`` to ``x1`` at each height in ``ys``.

    Unchanged guides are left alone: new data makes the scene measure the item again.
    """
    heights = np.asarray(ys, dtype=float)
    xs, ys_new = np.tile([x0, x1], len(heights)), np.repeat(heights, 2)
    xs_old, ys_old = item.getData()
    if xs_old is not None and np.array_equal(xs_old, xs) and np.array_equal(ys_old, ys_new):
        return
    item.setData(xs, ys_new)


def outline_item(parent_plot: pg.PlotItem) -> QGraphicsRectItem:
    """A hollow rectangle drawn over a heatmap to mark the selection."""
    rect = QGraphicsRectItem()
    rect.setPen(SELECTION_PEN)
    rect.setZValue(10)
    rect.setVisible(False)
    # Out of the auto-range: Qt adds half the (cosmetic) pen width to the rect's bounds in data
    # units, which padded every heatmap's view by a whole cell on each side.
    parent_plot.addItem(rect, ignoreBounds=True)
    return rect


def place_outline(rect: QGraphicsRectItem, x: float, y: float, w: float, h: float) -> None:
    """Move an outline and show it."""
    rect.setRect(QRectF(x, y, w, h))
    rect.setVisible(True)


def as_image(array: np.ndarray) -> np.ndarray:
    """C-contiguous float32: the fast path for ImageItem.setImage (no copy when already so)."""
    return np.ascontiguousarray(array, dtype=np.float32)


def fitting_token_ticks(
    labels: Sequence[str],
    selected: int,
    pixels_per_token: float,
    extent: Callable[[str], float] | float,
    gap: float = 6.0,
) -> list[tuple[float, str]]:
    """Tick labels that do not overlap on screen; the selected token's label always wins.

    This is the one tick-thinning rule of every token (and layer, head) axis. Labels are
    placed greedily (selected first, then left to right) wherever their extent plus ``gap``
    still fits, so an axis at 512 tokens shows as many labels as it has room for, and every
    label left off would overlap one that is shown. ``extent`` measures a label's length
    along the axis; a number gives every label that length (a vertical axis, where each
    label is one line high). Ticks sit at pixel centres, ``i + 0.5``, in order.
    """
    count = len(labels)
    if count == 0 or pixels_per_token <= 0:
        return []
    measure = extent if callable(extent) else None
    fixed = 0.0 if callable(extent) else float(extent)
    order = ([selected] if 0 <= selected < count else []) + [
        i for i in range(count) if i != selected
    ]
    taken: list[tuple[float, float]] = []
    chosen: list[tuple[float, str]] = []
    for i in order:
        text = f"▸{labels[i]}" if i == selected else str(labels[i])
        centre = (i + 0.5) * pixels_per_token
        size = measure(text) if measure is not None else fixed
        half = (size + gap) / 2
        low, high = centre - half, centre + half
        position = bisect.bisect(taken, (low, high))
        if position > 0 and taken[position - 1][1] > low:
            continue
        if position < len(taken) and taken[position][0] < high:
            continue
        taken.insert(position, (low, high))
        chosen.append((i + 0.5, text))
    return sorted(chosen)


def nice_ceiling(value: float) -> float:
    """The smallest round number (1, 1.25, 1.5, 2, … 8 × 10^k) at or above ``value``.

    Colour levels rounded up this way stay put while the user types, so the colour bar keeps
    its scale (and is not redrawn) for most edits; 1.0 when nothing is positive.
    """
    if not math.isfinite(value) or value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if value <= step * power * (1 + 1e-9):
            return round(step * power, 12)
    return 10.0 * power


def settle(plot: pg.PlotItem) -> None:
    """Apply the view's pending auto-range and transform now, before the paint.

    pyqtgraph defers both to the start of the next paint; there they move the items, which
    asks for a second paint of the whole view. Done here, one paint shows the final state.
    """
    plot.getViewBox().prepareForPaint()


def set_title(plot: pg.PlotItem, title: str) -> None:
    """Set a plot's title only when it differs: even an unchanged one relayouts the plot."""
    if plot.titleLabel.text != title:
        plot.setTitle(title)


def set_ticks(axis: pg.AxisItem, ticks: list[list[tuple[float, str]]]) -> None:
    """Set an axis's ticks only when they differ: setTicks redraws the whole axis.

    ``_tickLevels`` is where pyqtgraph's AxisItem.setTicks keeps them.
    """
    if getattr(axis, "_tickLevels", None) != ticks:
        axis.setTicks(ticks)


MAX_CELL_NUMBERS = 25  # more and the numbers of a 24-layer grid touch


def colour_key(*entries: tuple[str, str]) -> str:
    """Rich text naming each (colour, name) beside a square of its colour.

    A legend under the plot: pyqtgraph's sits inside the view and covers curves.
    """
    return " ".join(
        f"<span style='color:{colour}'>■</span>&nbsp;{html.escape(name)}"
        for colour, name in entries
    )


def number_cells(plot: pg.PlotItem, rows: int, cols: int, first: int = 1) -> None:
    """Number a grid's rows and columns at the cell centres, from ``first``.

    Layers and heads count from 1, as the window names them; hidden states from 0, the
    embeddings. Crowded axes keep every ``step``-th number.
    """
    for axis, count in (("left", rows), ("bottom", cols)):
        step = max(1, -(-count // MAX_CELL_NUMBERS))
        ticks = [(i + 0.5, str(i + first)) for i in range(0, count, step)]
        set_ticks(plot.getAxis(axis), [ticks])


def number_head_grid(plot: pg.PlotItem, layers: int, heads: int) -> None:
    """Number a layer × head grid as the window numbers them, from 1."""
    number_cells(plot, layers, heads)


def label_axis(
    axis: pg.AxisItem, labels: Sequence[str], selected: int, pixels_per_label: float
) -> None:
    """Put as many of ``labels`` (one per unit) on ``axis`` as fit; the selected one always."""
    vertical = axis.orientation in ("left", "right")
    font = axis.style.get("tickFont") or axis.font()
    extent = line_height(font) if vertical else label_extent(font)
    gap = 1.0 if vertical else 6.0  # rows only need to not touch; words need a space
    ticks = fitting_token_ticks(labels, selected, pixels_per_label, extent, gap)
    set_ticks(axis, [ticks])
    if vertical:
        fit_axis_width(axis, [text for _, text in ticks])


def pixels_per_unit(units_per_pixel: float) -> float:
    """Screen pixels per data unit, from a ViewBox's ``viewPixelSize`` (0 when unknown)."""
    return 1.0 / units_per_pixel if units_per_pixel > 0 else 0.0


def set_token_ticks(plot: pg.PlotItem, labels: Sequence[str], selected: int) -> None:
    """Label both token axes of a query × key heatmap with as many labels as fit."""
    x_size, y_size = plot.getViewBox().viewPixelSize()
    for name, size in (("bottom", x_size), ("left", y_size)):
        label_axis(plot.getAxis(name), labels, selected, pixels_per_unit(size))


AXIS_WIDTH_STEP = 8.0  # widths move in steps, so that typing rarely changes the layout
AXIS_SHRINK_SLACK = 2 * AXIS_WIDTH_STEP  # spare width an axis keeps before it narrows


def fit_axis_width(axis: pg.AxisItem, texts: Sequence[str]) -> None:
    """Size a vertical axis for its labels now, while the panel is updated.

    Left alone, pyqtgraph's AxisItem measures its labels while painting and then resizes
    itself, which lays the plot out again and paints the whole view a second time.
    An axis grows at once but narrows only when it has more than ``AXIS_SHRINK_SLACK`` to
    spare: while someone types, the heatmap then keeps its place instead of jittering (and
    is not laid out again) as longer and shorter words come and go.
    """
    font = axis.style.get("tickFont") or axis.font()
    widest = max(map(label_extent(font), texts), default=0.0)
    needed = widest + 2.0 + axis.style["tickTextOffset"][0] + max(0, axis.style["tickLength"])
    if axis.label.isVisible():  # the axis title beside the labels, as pyqtgraph counts it
        needed += axis.label.boundingRect().height() * 0.8
    width = math.ceil(needed / AXIS_WIDTH_STEP) * AXIS_WIDTH_STEP
    current = axis.fixedWidth
    if current is not None and width <= current <= width + AXIS_SHRINK_SLACK:
        return
    axis.setWidth(width)
