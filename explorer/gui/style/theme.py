"""Light and dark themes, and the font scale, applied to the application's widgets.

Qt only, no pyqtgraph: the main window applies its look before its first paint, and builds
(and imports) its plots only after the model has loaded. ``plot_style`` styles the plots.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BASE_POINT_SIZE = 10.0


@dataclass(frozen=True)
class Theme:
    """Colours for one theme."""

    name: str
    window: str
    base: str
    alternate: str
    text: str
    button: str
    highlight: str
    highlighted_text: str
    plot_background: str
    plot_foreground: str


LIGHT = Theme(
    name="light",
    window="#f3f3f3",
    base="#ffffff",
    alternate="#f0f4fa",
    text="#111111",
    button="#e8e8e8",
    highlight="#ffcf4d",
    highlighted_text="#000000",
    plot_background="#ffffff",
    plot_foreground="#222222",
)
DARK = Theme(
    name="dark",
    window="#1e1f22",
    base="#26282c",
    alternate="#2d3035",
    text="#e8e8e8",
    button="#33363b",
    highlight="#c99a1a",
    highlighted_text="#000000",
    plot_background="#16171a",
    plot_foreground="#d8d8d8",
)
THEMES = {LIGHT.name: LIGHT, DARK.name: DARK}


def palette_for(theme: Theme) -> QPalette:
    """A full QPalette so every widget (not only styled ones) follows the theme."""
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: theme.window,
        QPalette.ColorRole.WindowText: theme.text,
        QPalette.ColorRole.Base: theme.base,
        QPalette.ColorRole.AlternateBase: theme.alternate,
        QPalette.ColorRole.Text: theme.text,
        QPalette.ColorRole.Button: theme.button,
        QPalette.ColorRole.ButtonText: theme.text,
        QPalette.ColorRole.ToolTipBase: theme.base,
        QPalette.ColorRole.ToolTipText: theme.text,
        QPalette.ColorRole.Highlight: theme.highlight,
        QPalette.ColorRole.HighlightedText: theme.highlighted_text,
        QPalette.ColorRole.PlaceholderText: "#888888",
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    return palette


def apply_application_look(theme: Theme, font_scale: float) -> None:
    """Style, palette and font of the application."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        app.setStyle("Fusion")
        app.setPalette(palette_for(theme))
        font = app.font()
        font.setPointSizeF(BASE_POINT_SIZE * font_scale)
        app.setFont(font)
        # No application style sheet: with one, every widget paints through Qt's slower
        # style-sheet style, fonts come from the sheet, and a new palette does not reach the
        # widgets it has polished. The palette and this font are the whole look.
