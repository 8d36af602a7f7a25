"""The geometry of the input on show: CKA between layers, token cosines, anisotropy per layer.

Computed in the worker (explorer.core.geometry) when the tab is raised, once per result; the
token cosine matrix follows the selected layer (its output, so 0 is never the embeddings).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QVBoxLayout, QWidget

from explorer.core.geometry import GEOMETRY_ANALYSIS, Geometry
from explorer.gui.panels.analysis.common import OnDemand, ShowAware, wrapped_label
from explorer.gui.panels.analysis.hidden_layer import selected_hidden_layer
from explorer.gui.panels.plotting.plots import (
    ATTENTION_COLORMAP,
    as_image,
    make_heatmap_plot,
    number_cells,
    plot_widget,
    set_title,
    set_token_ticks,
)
from explorer.gui.state.explorer_state import ExplorerState


class GeometryPanel(ShowAware):
    """Layer × layer CKA, token × token cosine at the selected layer, anisotropy curve."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._geometry: Geometry | None = None
        self.message = wrapped_label()
        self.cka_plot, self.cka_image, _ = make_heatmap_plot(
            ATTENTION_COLORMAP, (0.0, 1.0), "linear CKA", square=True
        )
        cka = self.cka_plot.getPlotItem()
        cka.setLabel("left", "layer")
        cka.setLabel("bottom", "layer")
        set_title(cka, "Linear CKA between layers")
        cka.setLabel("bottom", "layer (0 = embeddings)")
        self.cosine_plot, self.cosine_image, _ = make_heatmap_plot(
            ATTENTION_COLORMAP, (-1.0, 1.0), "cosine", square=True
        )
        self.anisotropy_plot = plot_widget()
        curve = self.anisotropy_plot.getPlotItem()
        curve.setLabel("bottom", "layer (0 = embeddings)")
        self.anisotropy_curve = curve.plot(
            pen=pg.mkPen("#7f7f7f", width=2), symbol="o", symbolSize=5
        )
        self.layer_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#ff5050"))
        curve.addItem(self.layer_line)
        set_title(curve, "Anisotropy")
        curve.setLabel("left", "mean cosine, two tokens")
        grid = QGridLayout()
        grid.addWidget(self.cka_plot, 0, 0)
        grid.addWidget(self.anisotropy_plot, 0, 1)
        grid.addWidget(self.cosine_plot, 1, 0, 1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.message)
        layout.addLayout(grid, 1)
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
        self._geometry = None
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _on_geometry(self, geometry: Geometry) -> None:
        self._geometry = geometry
        self.message.setVisible(False)
        self.cka_image.setImage(as_image(geometry.cka), levels=(0.0, 1.0))
        depth = geometry.cka.shape[0]
        number_cells(self.cka_plot.getPlotItem(), depth, depth, first=0)
        layers = np.arange(geometry.anisotropy.shape[0], dtype=np.float32)
        self.anisotropy_curve.setData(layers, np.nan_to_num(geometry.anisotropy))
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
        self._draw_token_ticks()

    def _draw_token_ticks(self, *_: object) -> None:
        result = self._state.result
        if self._matching_geometry() is None or result is None:
            return
        labels = [str(t) for t in result.tokens]
        set_token_ticks(self.cosine_plot.getPlotItem(), labels, self._state.token)
