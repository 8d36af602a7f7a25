"""Axis numbers stay plain, whenever the look is applied."""

from __future__ import annotations

import pyqtgraph as pg

from explorer.gui.panels.plotting.plots import plot_widget


def test_a_theme_switch_before_the_plots_have_drawn_keeps_plain_numbers(qtbot, window):
    # Plots not yet drawn have their first range, where pyqtgraph picks "milli" (×1000);
    # turning prefixes off then kept ×1000 for good (ticks 0, 2000, 4000 for layers 0–6).
    window.build_panels()
    window.docks["context"].raise_()
    window.look.set_theme("dark")
    stuck = [
        (widget.getPlotItem().titleLabel.text, side)
        for widget in window.findChildren(pg.PlotWidget)
        for side in ("left", "bottom")
        if widget.getPlotItem().getAxis(side).autoSIPrefixScale != 1.0
    ]
    assert stuck == []


def test_our_plots_have_plain_numbers_from_the_start(qtbot):
    widget = plot_widget()
    qtbot.addWidget(widget)
    widget.getPlotItem().setLabel("left", "cosine")
    axis = widget.getPlotItem().getAxis("left")
    assert not axis.autoSIPrefix and axis.autoSIPrefixScale == 1.0
