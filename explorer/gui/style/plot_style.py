"""The plots' side of a theme: backgrounds, axis pens, tick fonts and titles.

Plots are restyled in place so a lecturer can switch theme or font size during a demo; the
heatmap colormaps stay perceptually uniform in both themes.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QWidget

from explorer.gui.style.theme import BASE_POINT_SIZE, Theme


def set_plot_defaults(theme: Theme) -> None:
    """Colours that plots created from now on start with."""
    pg.setConfigOptions(background=theme.plot_background, foreground=theme.plot_foreground)


def plain_numbers(axis: pg.AxisItem) -> None:
    """Tick numbers as they are: no SI prefix, no "(×0.001)" in the label.

    No axis here needs SI prefixes, and with them on, every range change re-renders the axis
    label's HTML (0.2 ms a result per plot). pyqtgraph's ``enableAutoSIPrefix(False)`` still
    computes a scale for the range the axis has at that moment and keeps it for good: an axis
    turned off while at its default ±0.5 range printed every tick 1000 × too large.
    """
    axis.enableAutoSIPrefix(False)
    if axis.autoSIPrefixScale != 1.0 or axis.labelUnitPrefix:
        axis.autoSIPrefixScale = 1.0
        axis.labelUnitPrefix = ""
        axis.setLabel(axis.labelText, axis.labelUnits)  # redraws the label and the ticks
        axis.picture = None
        axis.update()


def _plot_widgets(root: QWidget) -> list[pg.PlotWidget]:
    return [w for w in root.findChildren(pg.GraphicsView) if isinstance(w, pg.PlotWidget)]


def style_plots(root: QWidget, theme: Theme, font_scale: float) -> None:
    """Restyle every plot under ``root`` (background, axes, tick fonts, titles) and later ones."""
    set_plot_defaults(theme)
    point_size = BASE_POINT_SIZE * font_scale
    tick_font = QFont()
    tick_font.setPointSizeF(point_size)
    foreground = pg.mkColor(theme.plot_foreground)
    for widget in _plot_widgets(root):
        widget.setBackground(theme.plot_background)
        for item in widget.scene().items():
            if isinstance(item, pg.AxisItem):
                plain_numbers(item)
                item.setPen(foreground)
                item.setTextPen(foreground)
                item.setStyle(tickFont=tick_font)
                if item.label.isVisible() and item.labelText:
                    item.setLabel(
                        item.labelText,
                        color=theme.plot_foreground,
                        **{"font-size": f"{point_size}pt"},
                    )
            elif isinstance(item, pg.LabelItem):
                item.setText(item.text, color=theme.plot_foreground, size=f"{point_size * 1.2}pt")
