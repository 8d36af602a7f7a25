"""Exports from the window: panel and window images, tensors, tokens and the selected matrix.

Images are re-rendered at the requested width (text and lines stay sharp, no upscaling of a
screenshot). Files are never replaced without the user's yes; a write error is shown and the
view stays as it was. The npz and the matrix CSV are jobs of the worker: never cached, each
one answered by ``job_done`` or ``job_failed`` and reported in the message bar.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QAction, QImage, QKeySequence, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QDockWidget, QFileDialog, QInputDialog, QMenu, QWidget

from explorer.core.errors import ExplorerError
from explorer.core.export import ExportError, write_tokens_csv
from explorer.core.results import InferenceResult
from explorer.gui.state.explorer_state import ExplorerState
from explorer.gui.widgets.message_bar import Level, MessageBar
from explorer.gui.worker.model_worker import ModelClient

DEFAULT_PNG_WIDTH = 2400


def render_png(widget: QWidget, path: Path, width: int, *, overwrite: bool = False) -> Path:
    """Render ``widget`` into a PNG ``width`` pixels wide (vector re-render, so sharp)."""
    if path.exists() and not overwrite:
        raise ExportError(f"{path} already exists and was not replaced.")
    if width < 16 or width > 20000:
        raise ExportError(f"A width of {width} px is out of range (16 to 20000).")
    scale = width / max(1, widget.width())
    image = QImage(
        QSize(width, max(1, round(widget.height() * scale))), QImage.Format.Format_ARGB32
    )
    image.fill(widget.palette().window().color())
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    painter.scale(scale, scale)
    widget.render(painter, QPoint(0, 0))
    painter.end()
    if not image.save(str(path), "PNG"):
        raise ExportError(f"Could not write {path} (permission denied or disk full?).")
    return path


def render_svg(widget: QWidget, path: Path, *, overwrite: bool = False) -> Path:
    """Render ``widget`` as SVG: text, lines and axes as vectors, heatmaps as embedded images."""
    if path.exists() and not overwrite:
        raise ExportError(f"{path} already exists and was not replaced.")
    try:
        path.touch()
    except OSError as err:
        raise ExportError(f"Could not write {path}: {err.strerror or err}.") from err
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(widget.size())
    generator.setViewBox(QRectF(0, 0, widget.width(), widget.height()))
    generator.setTitle(widget.windowTitle() or "BERT Attention Explorer")
    painter = QPainter(generator)
    widget.render(painter, QPoint(0, 0))
    painter.end()
    if path.stat().st_size == 0:
        raise ExportError(f"Could not write {path}.")
    return path


class ExportController:
    """Menu, shortcuts and context-menu entries for every export; owned by the window.

    ``window`` is the document window (dialog parent, the whole-window image), ``docks`` its
    panels by key, ``jobs`` the worker channel that writes the npz and the matrix CSV.
    """

    def __init__(
        self,
        window: QWidget,
        docks: Mapping[str, QDockWidget],
        state: ExplorerState,
        message_bar: MessageBar,
        jobs: ModelClient,
    ) -> None:
        self._window = window
        self._docks = docks
        self._state = state
        self._message_bar = message_bar
        self._jobs = jobs
        self._writing: dict[int, Path] = {}  # job request id → the file it writes
        self.actions: list[QAction] = []
        jobs.job_done.connect(self._on_job_done)
        jobs.job_failed.connect(self._on_job_failed)

    # --- wiring ----------------------------------------------------------------------------
    def _action(self, label: str, keys: str | None, handler: Callable[[], object]) -> QAction:
        action = QAction(label, self._window)
        if keys:
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _=False: handler())
        self.actions.append(action)
        return action

    def build_menu(self, menu: QMenu) -> None:
        """Fill File → Export."""
        entries = [
            ("Panel as &PNG…", "Ctrl+E", lambda: self.panel_png(self.current_panel())),
            ("Panel as &SVG…", "Ctrl+Shift+E", lambda: self.panel_svg(self.current_panel())),
            ("&Window as PNG…", "Ctrl+Alt+E", self.window_png),
            ("All &tensors as .npz…", "Ctrl+Shift+N", self.tensors_npz),
            ("T&okens as CSV…", "Ctrl+Shift+T", self.tokens_csv),
            ("Selected &head as CSV…", "Ctrl+Shift+H", self.matrix_csv),
        ]
        for label, keys, handler in entries:
            menu.addAction(self._action(label, keys, handler))

    def add_context_menu(self, key: str, panel: QWidget) -> None:
        """Right-click on a panel offers its own image exports and the data exports."""
        panel.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for label, handler in (
            ("Export this panel as PNG…", lambda: self.panel_png(key)),
            ("Export this panel as SVG…", lambda: self.panel_svg(key)),
            ("Export all tensors as .npz…", self.tensors_npz),
            ("Export tokens as CSV…", self.tokens_csv),
            ("Export selected head as CSV…", self.matrix_csv),
        ):
            action = QAction(label, panel)
            action.triggered.connect(lambda _=False, h=handler: h())
            panel.addAction(action)

    def current_panel(self) -> str:
        """The panel with keyboard focus, else the attention panel."""
        focus = self._window.focusWidget()
        for key, dock in self._docks.items():
            if focus is not None and dock.isAncestorOf(focus):
                return key
        return "attention"

    # --- asking ----------------------------------------------------------------------------
    def _ask_path(self, title: str, suggestion: str, filters: str) -> Path | None:
        """A save dialog; Qt's dialog asks before replacing, so a chosen file may be replaced."""
        path, _ = QFileDialog.getSaveFileName(self._window, title, suggestion, filters)
        return Path(path) if path else None

    def _ask_width(self) -> int | None:
        width, ok = QInputDialog.getInt(
            self._window, "Image width", "Width in pixels:", DEFAULT_PNG_WIDTH, 16, 20000, 100
        )
        return width if ok else None

    def _report(self, action: Callable[[], Path]) -> Path | None:
        try:
            path = action()
        except ExplorerError as err:
            self._message_bar.show_message(f"Export failed: {err}", Level.ERROR)
            return None
        self._message_bar.show_message(f"Saved {path}", Level.INFO)
        return path

    def _result_or_say(self) -> InferenceResult | None:
        result = self._state.result
        if result is None:
            self._message_bar.show_message(
                "Nothing to export yet: type a sentence first.", Level.WARNING
            )
        return result

    # --- exports (path None: ask) ---------------------------------------------------------
    def panel_png(
        self, key: str, path: Path | None = None, width: int | None = None, overwrite: bool = False
    ) -> Path | None:
        """One panel's current view as PNG."""
        panel = self._docks[key].widget()
        if path is None:
            path = self._ask_path("Export panel as PNG", f"{key}.png", "PNG images (*.png)")
            width = self._ask_width() if path is not None else None
            overwrite = True
            if path is None or width is None:
                return None
        chosen = width or DEFAULT_PNG_WIDTH
        return self._report(lambda: render_png(panel, path, chosen, overwrite=overwrite))

    def panel_svg(self, key: str, path: Path | None = None, overwrite: bool = False) -> Path | None:
        """One panel's current view as SVG."""
        panel = self._docks[key].widget()
        if path is None:
            path = self._ask_path("Export panel as SVG", f"{key}.svg", "SVG images (*.svg)")
            overwrite = True
            if path is None:
                return None
        return self._report(lambda: render_svg(panel, path, overwrite=overwrite))

    def window_png(
        self, path: Path | None = None, width: int | None = None, overwrite: bool = False
    ) -> Path | None:
        """The whole window as PNG."""
        if path is None:
            path = self._ask_path("Export window as PNG", "window.png", "PNG images (*.png)")
            width = self._ask_width() if path is not None else None
            overwrite = True
            if path is None or width is None:
                return None
        chosen = width or DEFAULT_PNG_WIDTH
        return self._report(lambda: render_png(self._window, path, chosen, overwrite=overwrite))

    def tokens_csv(self, path: Path | None = None, overwrite: bool = False) -> Path | None:
        """The tokens table as CSV."""
        result = self._result_or_say()
        if result is None:
            return None
        if path is None:
            path = self._ask_path("Export tokens as CSV", "tokens.csv", "CSV files (*.csv)")
            overwrite = True
            if path is None:
                return None
        return self._report(lambda: write_tokens_csv(result, path, overwrite=overwrite))

    def matrix_csv(self, path: Path | None = None, overwrite: bool = False) -> int | None:
        """The attention matrix on show (layer, head or pooled heads) as labelled CSV.

        Written by the worker: at 512 tokens the CSV takes ~0.2 s, too long for the GUI.
        Returns the job's request id (None when nothing was asked).
        """
        result = self._result_or_say()
        if result is None:
            return None
        state = self._state
        lens = state.lens  # the head pooling the attention panel shows
        if path is None:
            name = f"attention-layer{state.layer + 1}.csv"
            path = self._ask_path("Export selected head as CSV", name, "CSV files (*.csv)")
            overwrite = True
            if path is None:
                return None
        return self._write(
            "write_matrix_csv",
            result,
            path,
            overwrite=overwrite,
            layer=state.layer,
            head=state.head,
            pool=lens.head_pool,
            mean_layers=lens.mean_layers,
        )

    def tensors_npz(self, path: Path | None = None, overwrite: bool = False) -> int | None:
        """Every tensor in the inspect format; computed and written by the worker.

        Returns the job's request id (None when nothing was asked).
        """
        result = self._result_or_say()
        if result is None:
            return None
        if path is None:
            path = self._ask_path("Export all tensors", "result.npz", "NumPy archives (*.npz)")
            overwrite = True
            if path is None:
                return None
        return self._write("write_npz", result, path, overwrite=overwrite)

    def _write(self, job: str, result: InferenceResult, path: Path, **params: Any) -> int:
        """Hand a file write to the worker as a job; its reply is reported when it comes."""
        self._message_bar.show_message(f"Writing {path}…", Level.INFO)
        request_id = self._jobs.request_job(job, result, {"path": str(path), **params})
        self._writing[request_id] = path
        return request_id

    def _on_job_done(self, request_id: int, _name: str, written: str) -> None:
        if self._writing.pop(request_id, None) is not None:
            self._message_bar.show_message(f"Saved {written}", Level.INFO)

    def _on_job_failed(self, request_id: int, _name: str, message: str) -> None:
        if self._writing.pop(request_id, None) is not None:
            self._message_bar.show_message(f"Export failed: {message}", Level.ERROR)
