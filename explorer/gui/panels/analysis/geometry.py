"""The geometry of the input on show: CKA between layers, token cosines, anisotropy per layer.

Computed in the worker (explorer.core.geometry) when the tab is raised, once per result; the
token cosine matrix follows the selected layer (its output, so 0 is never the embeddings).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QFrame, QGridLayout, QScrollArea, QVBoxLayout, QWidget

from explorer.core.geometry import GEOMETRY_ANALYSIS, Geometry
from explorer.gui.panels.analysis.common import COMPUTING, OnDemand, ShowAware, wrapped_label
from explorer.gui.panels.analysis.hidden_layer import selected_hidden_layer
from explorer.gui.panels.plotting.page_or_message import PageOrMessage
from explorer.gui.panels.plotting.plots import (
    ATTENTION_COLORMAP,
    as_image,
    fit_minimum_width,
    make_heatmap_plot,
    number_cells,
    plot_widget,
    set_ticks,
    set_title,
    set_token_ticks,
    settle,
)
from explorer.gui.panels.plotting.token_axis import line_height
from explorer.gui.state.explorer_state import ExplorerState

SMALL_PLOT_MIN_HEIGHT = 200  # CKA and anisotropy: their numbers and colour bar stay readable
COSINE_MIN_HEIGHT = 300
COSINE_CHROME_HEIGHT = 90  # title and bottom axis
COSINE_MAX_MIN_HEIGHT = 640  # past this many rows' worth, labels thin out rather than scroll
NOTHING_DRAWN = "Nothing to draw yet."
NO_ANISOTROPY = (
    "Anisotropy needs two tokens besides the special ones ([CLS], [SEP]): it is the mean "
    "cosine between two of them."
)


class GeometryPanel(ShowAware):
    """Layer × layer CKA, token × token cosine at the selected layer, anisotropy curve."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._geometry: Geometry | None = None
        self.message = wrapped_label()
        # The maps fill their plots: square cells left blank bands beside them, and the
        # token map (the widest of the three) fit fewer labels.
        self.cka_plot, self.cka_image, _ = make_heatmap_plot(
            ATTENTION_COLORMAP, (0.0, 1.0), "linear CKA"
        )
        cka = self.cka_plot.getPlotItem()
        cka.setLabel("left", "layer")
        cka.setLabel("bottom", "layer")
        set_title(cka, "Linear CKA of layers")
        cka.setLabel("bottom", "layer (0 = embeddings)")
        self.cosine_plot, self.cosine_image, _ = make_heatmap_plot(
            ATTENTION_COLORMAP, (-1.0, 1.0), "cosine"
        )
        self.anisotropy_plot = plot_widget()
        curve = self.anisotropy_plot.getPlotItem()
        curve.setLabel("bottom", "layer (0 = embeddings)")
        # NaN (undefined: fewer than two ordinary tokens) is a gap, never a point at 0.
        self.anisotropy_curve = curve.plot(
            pen=pg.mkPen("#7f7f7f", width=2), symbol="o", symbolSize=5, connect="finite"
        )
        self.layer_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#ff5050"))
        curve.addItem(self.layer_line)
        set_title(curve, "Anisotropy")
        curve.setLabel("left", "mean cosine, two tokens")
        self.cka_plot.setMinimumHeight(SMALL_PLOT_MIN_HEIGHT)
        self.anisotropy_plot.setMinimumHeight(SMALL_PLOT_MIN_HEIGHT)
        self.cosine_plot.setMinimumHeight(COSINE_MIN_HEIGHT)
        figures = QWidget()
        grid = QGridLayout(figures)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.cka_plot, 0, 0)
        grid.addWidget(self.anisotropy_plot, 0, 1)
        grid.addWidget(self.cosine_plot, 1, 0, 1, 2)
        grid.setRowStretch(0, 2)
        grid.setRowStretch(1, 3)  # the token map has the most rows to label
        scroller = QScrollArea()  # a short dock scrolls rather than squeezing the plots
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setWidget(figures)
        self.body = PageOrMessage(scroller, message=NOTHING_DRAWN)  # no empty axes at first
        self.body.show_message()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.message)
        layout.addWidget(self.body, 1)
        self._request = OnDemand(state, GEOMETRY_ANALYSIS, self, self._on_geometry, self._on_status)
        state.result_changed.connect(self.refresh)
        state.layer_changed.connect(self._draw_layer)
        state.token_changed.connect(self._draw_token_ticks)
        view = self.cosine_plot.getPlotItem().getViewBox()
        view.sigResized.connect(self._draw_token_ticks)  # how many labels fit depends on size
        view.sigRangeChanged.connect(self._draw_token_ticks)  # after auto-range

    def refresh(self) -> None:
        """Ask for the geometry of the result on show (drawn at once when already here)."""
        if self._state.result is None:
            self._request.want(None)
            self._on_status("No result yet.")
            return
        self._request.want({})

    def _on_status(self, text: str) -> None:
        """Say what is going on; anything but "computing" leaves nothing drawn.

        While the next result's geometry is computed the plots of the last one stay (no flash
        at every keystroke); a failure, or no result, clears them.
        """
        self._geometry = None
        self.message.setText(text)
        self.message.setVisible(bool(text))
        if text != COMPUTING:
            self._clear()
        elif self.body.shows_message:
            self.body.show_message(COMPUTING)

    def _clear(self) -> None:
        """Empty every plot and show the body's notice instead."""
        for image in (self.cka_image, self.cosine_image):
            image.clear()
        for plot in (self.cka_plot, self.cosine_plot):
            for side in ("left", "bottom"):
                set_ticks(plot.getPlotItem().getAxis(side), [[]])
        set_title(self.cosine_plot.getPlotItem(), "Cosine between tokens")
        self.anisotropy_curve.setData([], [])
        self.body.show_message(NOTHING_DRAWN)

    def _on_geometry(self, geometry: Geometry) -> None:
        self._geometry = geometry
        undefined = not np.isfinite(geometry.anisotropy).any()
        self.message.setText(NO_ANISOTROPY if undefined else "")
        self.message.setVisible(undefined)
        self.body.show_page()
        self.cka_image.setImage(as_image(geometry.cka), levels=(0.0, 1.0))
        depth = geometry.cka.shape[0]
        number_cells(self.cka_plot.getPlotItem(), depth, depth, first=0)
        layers = np.arange(geometry.anisotropy.shape[0], dtype=np.float32)
        plot = self.anisotropy_plot.getPlotItem()
        if undefined:  # nothing to draw (all-NaN symbols have no bounds: numpy warns)
            self.anisotropy_curve.setData([], [])
            # The cosine's own range and these layers, not the last input's curve's range.
            plot.setXRange(0, max(len(layers) - 1, 1))
            plot.setYRange(0.0, 1.0)
        else:
            self.anisotropy_curve.setData(layers, geometry.anisotropy)
            plot.enableAutoRange()
        self._draw_layer()

    def _matching_geometry(self) -> Geometry | None:
        """The geometry on hand if it belongs to the result on show (a newer may be on its way)."""
        result = self._state.result
        if self._geometry is None or result is None:
            return None
        return self._geometry if self._geometry.cosine.shape[1] == result.num_tokens else None

    def _draw_layer(self, *_: object) -> None:
        geometry = self._matching_geometry()
        if geometry is None:
            return
        layer = selected_hidden_layer(self._state.layer, geometry.cosine.shape[0])
        self.cosine_image.setImage(as_image(geometry.cosine[layer]), levels=(-1.0, 1.0))
        set_title(self.cosine_plot.getPlotItem(), f"Cosine between tokens, layer {layer}")
        self.layer_line.setValue(layer)
        self._fit_cosine_height(geometry.cosine.shape[1])
        self._draw_token_ticks()
        for plot in (self.cka_plot, self.anisotropy_plot, self.cosine_plot):
            fit_minimum_width(plot)

    def _fit_cosine_height(self, tokens: int) -> None:
        """Room for a label on every row of a sentence or two.

        A longer input scrolls up to a limit, past which every k-th row is labelled. (Set
        here, not while the view reports a resize: a resize asked for then was lost.)
        """
        axis = self.cosine_plot.getPlotItem().getAxis("left")
        font = axis.style.get("tickFont") or axis.font()
        rows = tokens * (line_height(font) + 1) + COSINE_CHROME_HEIGHT
        wanted = max(COSINE_MIN_HEIGHT, min(COSINE_MAX_MIN_HEIGHT, math.ceil(rows)))
        if self.cosine_plot.minimumHeight() != wanted:
            self.cosine_plot.setMinimumHeight(wanted)

    def _draw_token_ticks(self, *_: object) -> None:
        result = self._state.result
        if self._matching_geometry() is None or result is None:
            return
        labels = [str(t) for t in result.tokens]
        plot = self.cosine_plot.getPlotItem()
        # The view's auto-range waits for its next paint; counted before it, the labels that
        # fit were those of the default range (one unit across the whole plot).
        settle(plot)
        set_token_ticks(plot, labels, self._state.token)
