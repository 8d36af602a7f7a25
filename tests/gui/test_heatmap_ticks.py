"""Heatmap tick marks point out of the map, to their labels, whatever look is applied."""

from __future__ import annotations

import numpy as np

from explorer.gui.panels.plotting.plots import (
    as_image,
    make_heatmap_plot,
    number_cells,
)
from explorer.gui.style.plot_style import style_plots
from explorer.gui.style.theme import THEMES
from tests.gui.conftest import axis_draw_specs


def test_heatmap_ticks_point_away_from_the_cells(qtbot):
    widget, image, _ = make_heatmap_plot("viridis", (-1.0, 1.0), "cosine")
    qtbot.addWidget(widget)
    image.setImage(as_image(np.eye(4)), levels=(-1.0, 1.0))
    number_cells(widget.getPlotItem(), 4, 4)
    style_plots(widget, THEMES["dark"], 1.5)  # restyling keeps them out
    widget.resize(400, 400)
    widget.show()
    qtbot.waitExposed(widget)
    plot = widget.getPlotItem()
    _, left_ticks, _ = axis_draw_specs(plot.getAxis("left"))
    _, bottom_ticks, _ = axis_draw_specs(plot.getAxis("bottom"))
    assert left_ticks and bottom_ticks
    # The left axis's map side is its right edge: a tick ends left of where it starts.
    assert all(end.x() < start.x() for _, start, end in left_ticks)
    # The bottom axis's map side is its top edge: a tick ends below where it starts.
    assert all(end.y() > start.y() for _, start, end in bottom_ticks)
