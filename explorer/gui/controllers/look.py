"""The look of a window: theme and font scale, applied to widgets and plots, remembered.

A lecturer changes both during a demo, so they apply in place; the window stays on the
screen when larger fonts raise its minimum size.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QComboBox, QWidget

from explorer.gui.state.panel_options import OptionValue
from explorer.gui.state.settings import FONT_SCALE_RANGE, Settings
from explorer.gui.style.theme import THEMES, Theme, apply_application_look
from explorer.gui.widgets.shortcuts import FONT_STEP


class LookController(QObject):
    """Owns the theme and font scale of one window (and the windows that follow it).

    ``plots_built`` says whether the window has plots yet: styling them imports pyqtgraph,
    which a window shown before its panels has not paid for (see ``MainWindow``).
    """

    changed = Signal()
    """The theme or the font scale changed (already applied)."""

    def __init__(
        self,
        root: QWidget,
        settings: Settings,
        plots_built: Callable[[], bool],
        restyle: Callable[[], None],
    ) -> None:
        super().__init__(root)
        self._root = root
        self._settings = settings
        self._plots_built = plots_built
        self._restyle = restyle
        self.font_scale = settings.font_scale
        self.theme: Theme = THEMES[settings.theme]
        apply_application_look(self.theme, self.font_scale)  # before any widget is shown

    def set_font_scale(self, scale: float) -> None:
        """Scale every font, token label and heatmap label together; remembered."""
        low, high = FONT_SCALE_RANGE
        self.font_scale = round(min(max(scale, low), high), 3)
        self._settings.font_scale = self.font_scale
        self.apply()
        # Once the layout has grown or shrunk: the docks settle over a few event rounds.
        for delay_ms in (0, 150):
            QTimer.singleShot(delay_ms, self, self._keep_on_screen)

    def zoom_in(self) -> None:
        """Ctrl+=: larger fonts."""
        self.set_font_scale(self.font_scale * FONT_STEP)

    def zoom_out(self) -> None:
        """Ctrl+-: smaller fonts."""
        self.set_font_scale(self.font_scale / FONT_STEP)

    def reset_font_scale(self) -> None:
        """Ctrl+0: default fonts."""
        self.set_font_scale(1.0)

    def set_theme(self, name: str) -> None:
        """Switch between the light and dark themes (widgets and plots); remembered."""
        self.theme = THEMES[name]
        self._settings.theme = name
        self.apply()

    def toggle_theme(self) -> None:
        """Ctrl+Shift+D: dark ↔ light."""
        self.set_theme("light" if self.theme.name == "dark" else "dark")

    def apply(self) -> None:
        """Theme and font scale on the widgets, and on the plots once they exist."""
        apply_application_look(self.theme, self.font_scale)
        self._restyle()
        if self._plots_built():
            from explorer.gui.style.plot_style import style_plots  # imported with the panels

            style_plots(self._root, self.theme, self.font_scale)
        self.changed.emit()

    def style_window(self, window: QWidget) -> None:
        """Give a window opened later (its plots) the theme and font scale on show now.

        ``apply`` restyles the plots under the root that exist then; a window made after it
        would keep pyqtgraph's defaults: lecture-size fonts missing, SI prefixes on axes.
        """
        from explorer.gui.style.plot_style import style_plots  # imported with the panels

        style_plots(window, self.theme, self.font_scale)

    def options(self) -> dict[str, OptionValue]:
        """Theme and font scale, for a saved session."""
        return {"theme": self.theme.name, "font_scale": self.font_scale}

    def apply_options(self, options: dict[str, OptionValue]) -> None:
        """Restore ``options()``; unknown keys and values of the wrong kind are ignored."""
        theme = options.get("theme")
        if isinstance(theme, str) and theme in THEMES:
            self.set_theme(theme)
        scale = options.get("font_scale")
        if isinstance(scale, int | float) and not isinstance(scale, bool):
            self.set_font_scale(float(scale))

    def _keep_on_screen(self) -> None:
        """No larger than the screen after a font change, as far as the panels' minimum allows.

        Larger fonts raise the panels' minimum sizes and Qt grows the window to match, past
        the screen's edge; it never shrinks it again when the fonts get smaller.
        """
        window = self._root
        screen = window.screen()
        if screen is None or window.isFullScreen() or window.isMaximized():
            return
        # Lay out now (only that: no other queued event, such as a worker's result, may run
        # here), so that the minimum size below is the one for the new fonts.
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        # A combo box drops its cached minimum size on a style change but not on a font
        # change (QComboBox.changeEvent), so after larger fonts it kept the window wide.
        for combo in window.findChildren(QComboBox):
            QApplication.sendEvent(combo, QEvent(QEvent.Type.StyleChange))
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        available = screen.availableGeometry()
        if window.width() > available.width() or window.height() > available.height():
            window.resize(
                window.size().boundedTo(available.size()).expandedTo(window.minimumSizeHint())
            )
        if not available.contains(window.frameGeometry()):
            window.move(
                max(available.left(), min(window.x(), available.right() - window.width())),
                max(available.top(), min(window.y(), available.bottom() - window.height())),
            )
