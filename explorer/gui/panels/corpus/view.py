"""What a corpus run found: the head grid, the selected head's offsets, the map of heads, layers.

It shows a ``bert-explorer corpus`` output file (its arrays, read once) and follows the shared
selection: clicking a head in the grid or on the map selects that layer and head in the main
window, and the selected head is outlined here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from explorer.core.corpus.batch import OFFSETS
from explorer.core.corpus.files import model_label
from explorer.core.corpus.head_map import head_map
from explorer.core.sources import EMBEDDED_ALIASES, ModelSource
from explorer.core.wording import counted
from explorer.gui.panels.analysis.common import wrapped_label
from explorer.gui.panels.plotting.page_or_message import PageOrMessage
from explorer.gui.panels.plotting.plots import (
    colour_key,
    finite_top,
    make_head_grid,
    outline_item,
    place_outline,
    plot_widget,
    set_title,
    show_head_values,
)
from explorer.gui.state.explorer_state import MEAN_OF_HEADS, ExplorerState

STATISTICS = {
    "head_cls": "to [CLS]",
    "head_sep": "to [SEP]",
    "head_punct": "to punctuation",
    "head_self": "to itself",
    "head_prev": "to previous",
    "head_next": "to next",
    "head_entropy": "entropy (nats)",
    "head_distance": "mean |i − j|",
}
UNITS = {"head_entropy": "nats", "head_distance": "tokens"}  # the rest are shares of attention
PLACEHOLDER = (
    "Run a corpus, or open a corpus output (.npz), to see every head's statistics, the "
    "selected head's attention by offset, the map of heads and the per-layer curves here."
)
LAYER_COLORS = pg.colormap.get("viridis")
MAX_KEY_LAYERS = 12  # a deeper model's map key names every k-th layer (and the last)
POINT_SIZE = 9
RING_SIZE = 15  # the selected head's ring, around its point (whose colour shows through)
NO_MAP = (
    "The map of heads needs the Jensen–Shannon divergence between heads: tick "
    "Jensen–Shannon between heads and run again."
)


class CorpusView(QWidget):
    """Every figure of one corpus output; empty (with a hint) until ``show_arrays``."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._arrays: dict[str, np.ndarray] | None = None
        self._meta: dict[str, Any] = {}
        self.map_positions: np.ndarray | None = None
        self.summary = wrapped_label("")  # what the output on show holds (the body says how)
        self.stat_combo = QComboBox()
        for key, label in STATISTICS.items():
            self.stat_combo.addItem(label, key)
        self.grid, self.image, self.colorbar = make_head_grid(
            "share", "Click a head to select it in the main window"
        )
        self._outline = outline_item(self.grid.getPlotItem())
        self.offsets_plot = plot_widget()
        self.offsets_bars = pg.BarGraphItem(x=OFFSETS, height=np.zeros(OFFSETS.size), width=0.8)
        self.offsets_plot.getPlotItem().addItem(self.offsets_bars)
        self.offsets_plot.getPlotItem().setLabel("bottom", "offset j − i (key − query)")
        self.offsets_plot.getPlotItem().setLabel("left", "mean attention")
        self.offsets_note = Caption()  # which offsets no query row reached
        self.map_plot = plot_widget()
        self.map_points = pg.ScatterPlotItem(size=POINT_SIZE, hoverable=True, tip=self._map_tip)
        self.map_selected = pg.ScatterPlotItem(
            size=RING_SIZE, pen=pg.mkPen("#ff5050", width=2), brush=pg.mkBrush(None)
        )
        self.map_plot.getPlotItem().addItem(self.map_points)
        self.map_plot.getPlotItem().addItem(self.map_selected)
        self.map_note = Caption()
        self.layers_plot = plot_widget()
        layers = self.layers_plot.getPlotItem()
        layers.setLabel("bottom", "layer (0 = embeddings)")
        layers.setLabel("left", "cosine")
        # NaN (undefined: no word seen often enough, a shard without segments) is a gap.
        self.self_curve = layers.plot(
            pen=pg.mkPen("#d62728", width=2), name="self-similarity", connect="finite"
        )
        self.anisotropy_curve = layers.plot(
            pen=pg.mkPen("#7f7f7f", width=2), name="anisotropy", connect="finite"
        )
        set_title(layers, "Per layer (Ethayarajh 2019)")
        self.layers_key = Caption(_layers_key_text({}, has_self=True))

        top = QHBoxLayout()
        top.addWidget(QLabel("Colour heads by"))
        top.addWidget(self.stat_combo)
        top.addStretch(1)
        map_box = QWidget()
        map_layout = QVBoxLayout(map_box)
        map_layout.setContentsMargins(0, 0, 0, 0)
        map_layout.addWidget(self.map_plot, 1)
        map_layout.addWidget(self.map_note)
        # No Jensen–Shannon in the output: the sentence stands in for empty axes.
        self.map_body = PageOrMessage(map_box, message=NO_MAP)
        offsets_box = QWidget()
        offsets_layout = QVBoxLayout(offsets_box)
        offsets_layout.setContentsMargins(0, 0, 0, 0)
        offsets_layout.addWidget(self.offsets_plot, 1)
        offsets_layout.addWidget(self.offsets_note)
        figures = QGridLayout()
        figures.addWidget(self.grid, 0, 0)
        figures.addWidget(offsets_box, 0, 1)
        figures.addWidget(self.map_body, 1, 0)
        layers_box = QWidget()
        layers_layout = QVBoxLayout(layers_box)
        layers_layout.setContentsMargins(0, 0, 0, 0)
        layers_layout.addWidget(self.layers_plot, 1)
        layers_layout.addWidget(self.layers_key)
        figures.addWidget(layers_box, 1, 1)
        figures.setRowStretch(0, 1)  # both rows share the height
        figures.setRowStretch(1, 1)
        figures.setColumnStretch(0, 1)  # and both columns the width, whatever their captions
        figures.setColumnStretch(1, 1)
        page = QWidget()
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.addLayout(top)
        page_layout.addLayout(figures, 1)
        # Empty axes (ticks of ±400 and "×0.001") before the first output said nothing.
        self.body = PageOrMessage(page, message=PLACEHOLDER)
        self.body.show_message()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.body, 1)

        self.stat_combo.currentIndexChanged.connect(self._draw_grid)
        self.image.cell_clicked.connect(self._on_cell_clicked)
        self.map_points.sigClicked.connect(self._on_map_clicked)
        state.layer_changed.connect(self._draw_selection)
        state.head_changed.connect(self._draw_selection)

    @property
    def statistic(self) -> str:
        """The output key that colours the grid."""
        return str(self.stat_combo.currentData())

    @property
    def meta(self) -> dict[str, Any]:
        """The shown output's description of its run (its "meta" JSON); {} before any."""
        return dict(self._meta)

    def show_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Show a corpus output (the arrays of its npz)."""
        self._arrays = {key: np.asarray(value) for key, value in arrays.items()}
        self.body.show_page()
        meta = json.loads(str(self._arrays["meta"]))
        self._meta = meta if isinstance(meta, dict) else {}
        model = self._meta.get("model")
        segments = counted(int(self._arrays["segments"]), "segment")
        tokens = counted(int(self._arrays["tokens"]), "token")
        self.summary.setText(
            f"{segments}, {tokens} of {self._meta.get('corpus', '?')} · {model_name(model)} · "
            f"pooled over every query row{_shards_text(self._meta)}"
        )
        self.summary.setToolTip(model_details(model))
        similarity = self._arrays["layer_self_similarity"]
        self.layers_key.setText(
            _layers_key_text(self._meta, has_self=bool(np.isfinite(similarity).any()))
        )
        layers = np.arange(self._arrays["layer_anisotropy"].shape[0], dtype=np.float32)
        self.self_curve.setData(layers, similarity)
        self.anisotropy_curve.setData(layers, self._arrays["layer_anisotropy"])
        self._draw_map()
        self._draw_grid()

    def _draw_grid(self, *_: object) -> None:
        if self._arrays is None:
            return
        values = self._arrays[self.statistic]
        # Shares too run from 0 to the largest: on 0–1, "to itself" was all one dark colour.
        top = finite_top(values)
        show_head_values(self.grid, self.image, self.colorbar, values, (0.0, top))
        self.colorbar.getAxis("left").setLabel(UNITS.get(self.statistic, "share"))
        set_title(self.grid.getPlotItem(), f"Every head: {STATISTICS[self.statistic]}")
        self._draw_selection()

    def _draw_map(self) -> None:
        assert self._arrays is not None
        plot = self.map_plot.getPlotItem()
        if "head_js" not in self._arrays:
            self.map_positions = None
            self.map_points.setData([], [])
            self.map_note.setText("")
            set_title(plot, "Map of heads")
            self.map_body.show_message()
            return
        self.map_body.show_page()
        layers, heads = self._arrays["head_cls"].shape
        self.map_positions = head_map(self._arrays["head_js"])
        colours = LAYER_COLORS.map(np.repeat(np.arange(layers) / max(layers - 1, 1), heads))
        self.map_points.setData(
            pos=self.map_positions,
            brush=[pg.mkBrush(*c) for c in colours],
            data=np.arange(layers * heads),
        )
        self.map_note.setText(f"MDS of √(Jensen–Shannon divergence) · layer: {layer_key(layers)}")
        set_title(plot, "Map of heads (Clark et al. 2019)")

    def _draw_selection(self, *_: object) -> None:
        if self._arrays is None:
            return
        layers, heads = self._arrays["head_cls"].shape
        layer, head = self._state.layer, self._state.head
        # Nothing stays marked from an earlier output or selection: no map (a run without
        # --js), a head this output's model does not have, or the mean of heads.
        self._outline.setVisible(False)
        self.map_selected.setData([], [])
        if not 0 <= layer < layers:
            return
        plot = self.offsets_plot.getPlotItem()
        if head == MEAN_OF_HEADS or not 0 <= head < heads:
            profile = self._arrays["head_offsets"][layer].mean(axis=0)
            set_title(plot, f"Attention by offset, layer {layer + 1}, mean of heads")
        else:
            profile = self._arrays["head_offsets"][layer, head]
            set_title(plot, f"Attention by offset, layer {layer + 1} head {head + 1}")
            self._outline.setVisible(True)
            place_outline(self._outline, head, layer, 1, 1)
            if self.map_positions is not None:
                self.map_selected.setData(pos=self.map_positions[[layer * heads + head]])
        self._draw_profile(profile)

    def _draw_profile(self, profile: np.ndarray) -> None:
        """Bars of the offsets some query row reached; the others are said, not drawn.

        A bar of height 0 would read as a measured 0. NaN bars had no bounds: the view kept
        the last output's range and cut the bars; the range is set here, every offset across.
        """
        finite = np.isfinite(profile)
        self.offsets_bars.setOpts(x=OFFSETS[finite], height=profile[finite])
        plot = self.offsets_plot.getPlotItem()
        plot.setXRange(float(OFFSETS[0]) - 0.5, float(OFFSETS[-1]) + 0.5, padding=0.02)
        plot.setYRange(0.0, finite_top(profile), padding=0.05)
        self.offsets_note.setText(_missing_offsets_text(OFFSETS[~finite]))
        self.offsets_note.setVisible(not finite.all())

    def _on_cell_clicked(self, row: int, col: int, _modifiers: object) -> None:
        self._state.set_layer(row)
        self._state.set_head(col)

    def _map_tip(self, x: float, y: float, data: object) -> str:
        """The hovered point's head, numbered as the window numbers it."""
        if self._arrays is None:
            return ""
        heads = self._arrays["head_cls"].shape[1]
        index = int(data)  # type: ignore[call-overload]
        return f"layer {index // heads + 1} · head {index % heads + 1}"

    def _on_map_clicked(self, _item: object, points: list, *_: object) -> None:
        if points and self._arrays is not None:
            heads = self._arrays["head_cls"].shape[1]
            index = int(points[0].data())
            self._state.set_layer(index // heads)
            self._state.set_head(index % heads)


def model_name(model: object) -> str:
    """A run's model as a reader knows it, from the meta's "model" entry.

    The embedded model by its name (its folder inside the package is only "model"), a local
    folder by its own name, a hub model by its id; the full path goes in ``model_details``.
    """
    if not isinstance(model, Mapping):
        return "model ?"
    source = str(model.get("source") or "")
    if source.strip().lower() in EMBEDDED_ALIASES:
        return ModelSource.embedded().label
    return model_label(model)


def model_details(model: object) -> str:
    """Where the model was read from, and its sizes: the tooltip of its name."""
    if not isinstance(model, Mapping):
        return ""
    where = str(model.get("name_or_path") or model.get("source") or "?")
    sizes = [
        str(model.get("model_type") or "?"),
        counted(int(model.get("num_layers") or 0), "layer"),
        counted(int(model.get("num_heads") or 0), "head"),
        f"d={model.get('hidden_size', '?')}",
    ]
    return f"{where}\n{' · '.join(sizes)}"


def layer_key(layers: int) -> str:
    """Rich text naming the map's layer colours (numbered from 1), at most MAX_KEY_LAYERS."""
    step = max(1, -(-layers // MAX_KEY_LAYERS))
    shown = list(range(0, layers, step))
    if shown[-1] != layers - 1:
        shown.append(layers - 1)
    return colour_key(*((_layer_colour(layer, layers), str(layer + 1)) for layer in shown))


def _layer_colour(layer: int, layers: int) -> str:
    """The map's colour of ``layer`` (viridis, dark first), as #rrggbb."""
    rgba = LAYER_COLORS.map(np.array([layer / max(layers - 1, 1)]))[0]
    return QColor(*(int(c) for c in rgba)).name()


class Caption(QLabel):
    """A caption under a plot that wraps within its column (never into the next one).

    Its width does not count in the layout, so a long key cannot widen its column over the
    other's. Its height is that of the wrapped text at its width, set when it is resized, not
    through height-for-width: a grid of boxes that ask height-for-width gave the figures above
    them only their minimum height (the head grid became a strip).
    """

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self._height = 0
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def hasHeightForWidth(self) -> bool:
        """Qt API: no height-for-width in the layout (see the class)."""
        return False

    def sizeHint(self) -> QSize:
        """Qt API: the wrapped text's height at the current width."""
        return QSize(0, self._height or super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        """Qt API: as ``sizeHint``."""
        return self.sizeHint()

    def setText(self, text: str) -> None:
        """Qt API: the new text, and the height it wraps to."""
        super().setText(text)
        self._fit_height(self.width())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Qt API: rewrap at the new width."""
        super().resizeEvent(event)
        self._fit_height(event.size().width())

    def _fit_height(self, width: int) -> None:
        height = self.heightForWidth(width) if width > 0 else super().sizeHint().height()
        if height != self._height:
            self._height = height
            self.updateGeometry()


def _missing_offsets_text(missing: np.ndarray) -> str:
    """'offsets beyond ±4: no rows' (segments too short to reach them); '' if none is missing."""
    if missing.size == 0:
        return ""
    if missing.size == OFFSETS.size:
        return "no offset has a row"
    reached = int(np.abs(np.setdiff1d(OFFSETS, missing)).max())
    beyond = OFFSETS[np.abs(OFFSETS) > reached]
    if np.array_equal(np.sort(missing), beyond):
        return f"offsets beyond ±{reached}: no rows"
    return f"offsets {', '.join(str(int(o)) for o in missing)}: no rows"


def _layers_key_text(meta: Mapping[str, Any], *, has_self: bool) -> str:
    """The key of the per-layer curves, with how many words the self-similarity averages."""
    fewest = meta.get("min_occurrences", 5)
    words = meta.get("words_with_enough_occurrences")
    counted_words = "words" if not isinstance(words, int) else f"the {counted(words, 'word')}"
    said = f"self-similarity of {counted_words} seen {fewest} times or more"
    if not has_self:
        said = f"no word was seen {fewest} times or more: no self-similarity"
    return colour_key(("#d62728", said), ("#7f7f7f", "anisotropy"))


def _shards_text(meta: Mapping[str, object]) -> str:
    """Which part of a split corpus this is; nothing for one whole run."""
    merged = meta.get("shards_merged")
    total = meta.get("shards")
    if not isinstance(merged, list) or not isinstance(total, int) or total <= 1:
        return ""
    if len(merged) == total:
        return f" · all {total} shards merged"
    if len(merged) == 1:
        return f" · shard {merged[0]} of {total} only"
    return f" · shards {', '.join(map(str, merged))} of {total} only"
