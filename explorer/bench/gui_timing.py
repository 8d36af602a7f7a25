"""In-process timings against a real, shown MainWindow (offscreen): nothing is mocked.

"Painted" means painted: an event filter on each panel's view (the viewports of the plots and
of the token table) sees its Paint event, and a zero-delay timer posted from there fires only
once that paint pass has finished and been flushed. The clock then stops.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QHeaderView, QWidget

from explorer.core.sources import ModelSource
from explorer.gui.windows.main_window import MainWindow

RESULT_TIMEOUT_S = 300.0
PAINT_IDLE_S = 0.3  # no armed view painted for this long: the rest did not need to
HEARTBEAT_MS = 10


def _key(widget: QObject) -> int:
    return int(shiboken6.getCppPointer(widget)[0])


class PaintWatch(QObject):
    """Tells when every armed view has painted at least once since it was armed.

    A view that does not repaint (its content did not change) cannot hold the clock: once no
    armed view has painted for ``idle_s``, the watch finishes at the end of the last paint it
    saw and lists the views that stayed unpainted.
    """

    finished = Signal()
    """Every armed view has painted (or the rest stayed idle) and the paint pass is over."""

    def __init__(self, views: dict[str, QWidget], idle_s: float = PAINT_IDLE_S) -> None:
        super().__init__()
        self._views = views
        self._names = {_key(view): name for name, view in views.items()}
        self._expected: set[str] = set()
        self._painted: set[str] = set()
        self._armed_at = 0.0
        self._last_paint_done: float | None = None
        self.done_at: float | None = None
        self.unpainted: list[str] = []
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(int(idle_s * 1000))
        self._idle.timeout.connect(self._on_idle)
        for view in views.values():
            view.installEventFilter(self)

    def visible(self, names: Iterable[str] | None = None) -> list[str]:
        """The watched views that are on screen (hidden or zero-size views never paint)."""
        chosen = self._views if names is None else {n: self._views[n] for n in names}
        return [
            name
            for name, view in chosen.items()
            if view.isVisible() and not view.visibleRegion().isEmpty()
        ]

    def arm(self, names: Iterable[str], idle: bool = True) -> None:
        """Start waiting for ``names`` to paint (``idle``: give up on views that stay idle)."""
        self._expected = set(names)
        self._painted = set()
        self._armed_at = time.perf_counter()
        self._last_paint_done = None
        self.done_at = None
        self.unpainted = []
        if idle and self._expected:
            self._idle.start()
        else:
            self._idle.stop()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """Record paints of armed views; never consumes the event."""
        if self._expected and event.type() == QEvent.Type.Paint:
            name = self._names.get(_key(obj))
            if name in self._expected and name not in self._painted:
                self._painted.add(name)
                QTimer.singleShot(0, self._after_paint)
        return False

    def _after_paint(self) -> None:
        if not self._expected:
            return
        self._last_paint_done = time.perf_counter()
        if self._painted >= self._expected:
            self._finish()
        else:
            self._idle.start()

    def _on_idle(self) -> None:
        if self._expected:
            self._finish()

    def _finish(self) -> None:
        self._idle.stop()
        self.unpainted = sorted(self._expected - self._painted)
        self._expected = set()
        self.done_at = self._last_paint_done or self._armed_at
        self.finished.emit()


class Heartbeat(QObject):
    """A 10 ms timer in the GUI thread; the longest gap between its beats is the stall."""

    def __init__(self, interval_ms: int = HEARTBEAT_MS) -> None:
        super().__init__()
        self.beats: list[float] = []
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(lambda: self.beats.append(time.perf_counter()))

    def start(self) -> None:
        """Beat from now on, forgetting earlier beats."""
        self.beats = []
        self._timer.start()

    def stop(self) -> None:
        """Stop beating."""
        self._timer.stop()

    def max_gap_ms(self, start: float, end: float) -> float:
        """The longest time between beats (or the window's ends) within [start, end]."""
        times = [start, *(b for b in self.beats if start < b < end), end]
        return max(b - a for a, b in itertools.pairwise(times)) * 1000.0


@dataclass
class EditTiming:
    """One edit: from the worker taking the request until every visible panel painted."""

    edit_to_paint_ms: float
    compute_ms: float  # run_inference_with_views in the worker
    deliver_ms: float  # worker emit → the GUI thread's controller sees the reply
    apply_ms: float  # state.set_result and every panel's synchronous update
    paint_ms: float  # panels updated → every visible view painted
    stall_ms: float
    unpainted: list[str] = field(default_factory=list)


class WindowBench(QObject):
    """One shown MainWindow on one model, driven the way a user drives it (minus typing)."""

    _worker_idle = Signal()

    def __init__(self, app: QApplication, source: ModelSource) -> None:
        super().__init__()
        self.app = app
        self.window = MainWindow(source=source, text="")
        self.window.resize(1500, 950)
        self._wait_for(self.window.controller.model_loaded, show=True)
        self.settle(0.3)
        window = self.window
        self.views = panel_views(window)
        self.watch = PaintWatch(self.views)
        self.heartbeat = Heartbeat()
        self._loop = QEventLoop()
        self.watch.finished.connect(self._loop.quit)
        self._expected_text: str | None = None
        self._outcome: Any = None
        self._failure: str | None = None
        self._arrived_at = 0.0
        self._applied_at = 0.0
        # Connected after the window's own slots, so these run once the panels are updated.
        window.controller.busy_changed.connect(self._on_busy_changed)
        window.controller.result_ready.connect(self._on_result_ready)
        window.controller.inference_failed.connect(self._on_failed)

    # --- plumbing ------------------------------------------------------------------------
    def _wait_for(self, signal: Any, show: bool = False) -> None:
        loop = QEventLoop()
        failed: list[str] = []

        def on_failure(message: str) -> None:
            failed.append(message)
            loop.quit()

        guard = QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(loop.quit)
        signal.connect(loop.quit)
        self.window.controller.load_failed.connect(on_failure)
        guard.start(int(RESULT_TIMEOUT_S * 1000))
        if show:
            self.window.show()
        loop.exec()
        guard.stop()
        signal.disconnect(loop.quit)
        self.window.controller.load_failed.disconnect(on_failure)
        if failed:
            raise RuntimeError(f"the model did not load: {failed[0]}")

    def settle(self, seconds: float) -> None:
        """Let the event loop run (first paints, layouts) for a while."""
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def _on_busy_changed(self, busy: bool) -> None:
        if not busy:
            self._arrived_at = time.perf_counter()

    def _on_result_ready(self, outcome: Any) -> None:
        if outcome.result.text != self._expected_text:
            return
        self._applied_at = time.perf_counter()
        self._outcome = outcome
        self.watch.arm(self.watch.visible())

    def _on_failed(self, message: str) -> None:
        self._failure = message
        self._loop.quit()

    def _run_loop(self) -> None:
        guard = QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(self._loop.quit)
        guard.start(int(RESULT_TIMEOUT_S * 1000))
        self._loop.exec()
        guard.stop()
        if self._failure is not None:
            raise RuntimeError(f"inference failed in the benchmark: {self._failure}")
        if self.watch.done_at is None:
            raise RuntimeError("timed out waiting for the panels to paint")

    # --- measurements --------------------------------------------------------------------
    def edit(self, text: str) -> EditTiming:
        """Send ``text`` as if the debounce had just expired; time it until painted."""

        def send() -> None:
            self.window.input_bar.blockSignals(True)  # no debounce timer: run_now is the expiry
            self.window.input_bar.set_inputs(text)
            self.window.input_bar.blockSignals(False)
            self.window.run_now()

        return self.timed(text, send)

    def timed(self, text: str, change: Callable[[], None]) -> EditTiming:
        """Time ``change``, which makes the window run ``text`` (again), until painted."""
        self._expected_text = text
        self._outcome = None
        self._arrived_at = 0.0
        self.watch.arm([])
        self.heartbeat.start()
        requested = time.perf_counter()
        change()
        self._run_loop()
        self.heartbeat.stop()
        outcome, done = self._outcome, float(self.watch.done_at or 0.0)
        emitted = outcome.picked_up_at + outcome.compute_ms / 1000.0
        if self._arrived_at < emitted:  # busy stayed on (other work queued): no arrival mark
            self._arrived_at = self._applied_at
        return EditTiming(
            edit_to_paint_ms=(done - outcome.picked_up_at) * 1000.0,
            compute_ms=outcome.compute_ms,
            deliver_ms=(self._arrived_at - emitted) * 1000.0,
            apply_ms=(self._applied_at - self._arrived_at) * 1000.0,
            paint_ms=(done - self._applied_at) * 1000.0,
            stall_ms=self.heartbeat.max_gap_ms(requested, done),
            unpainted=list(self.watch.unpainted),
        )

    def logit_lens(self, text: str) -> tuple[float, float]:
        """Run ``text`` with the logit-lens tab hidden, then raise it; time its grid.

        Returns (ms until the grid is painted, the longest GUI stall meanwhile): the grid is
        computed in the worker, and the window must not freeze while it is.
        """
        window = self.window
        window.docks["pooled"].raise_()  # the lens tab hidden: the edit asks nothing of it
        self.edit(text)
        self.wait_for_worker()
        view = window.analysis_panels["logit_lens"].widget.viewport()
        arrived = QEventLoop()
        painted: list[float] = []

        def paint_now() -> None:
            view.repaint()
            painted.append(time.perf_counter())
            arrived.quit()

        def on_analysis(name: str) -> None:
            if name == "logit_lens":
                QTimer.singleShot(0, paint_now)  # after the panel drew its grid

        window.state.analysis_changed.connect(on_analysis)
        guard = QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(arrived.quit)
        guard.start(int(RESULT_TIMEOUT_S * 1000))
        self.heartbeat.start()
        started = time.perf_counter()
        window.docks["logit_lens"].raise_()
        arrived.exec()
        guard.stop()
        self.heartbeat.stop()
        window.state.analysis_changed.disconnect(on_analysis)
        if not painted:
            raise RuntimeError("the logit lens did not arrive")
        return (painted[0] - started) * 1000.0, self.heartbeat.max_gap_ms(started, painted[0])

    def switch(self, change: Callable[[], None], views: Iterable[str]) -> tuple[float, list[str]]:
        """Time ``change`` (a selection change) until ``views`` have repainted."""
        self.watch.arm(self.watch.visible(views))
        started = time.perf_counter()
        change()
        self._run_loop()
        return (float(self.watch.done_at or 0.0) - started) * 1000.0, list(self.watch.unpainted)

    def _on_worker_thread(self, job: Callable[[], Any]) -> Any:
        """Run ``job`` on the worker thread after everything queued before it; return its value.

        A zero-delay call queued to the worker object runs only after every request queued
        before it (the analyses panels asked for), so nothing else runs beside ``job``.
        """
        loop = QEventLoop()
        box: list[Any] = []

        def run() -> None:
            box.append(job())
            self._worker_idle.emit()

        self._worker_idle.connect(loop.quit)
        worker = self.window.controller._worker  # the benchmark's one look inside
        QTimer.singleShot(0, worker, run)
        guard = QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(loop.quit)
        guard.start(int(RESULT_TIMEOUT_S * 1000))
        loop.exec()
        guard.stop()
        self._worker_idle.disconnect(loop.quit)
        if not box:
            raise RuntimeError("the worker thread did not run the benchmark's job")
        return box[0]

    def wait_for_worker(self) -> None:
        """Return once the worker thread has drained its queue."""
        self._on_worker_thread(lambda: None)

    def bare_forward_ms(self, text: str) -> float:
        """The floor, timed on the worker thread with the window's own model in eager mode.

        Same thread, same model object, same OpenMP pool as the app's inference: a second
        model on another thread would bring a second OpenMP pool to fight over the cores.
        """
        worker = self.window.controller._worker

        def timed() -> float:
            loaded = worker._loaded
            implementation = loaded.model.config._attn_implementation
            loaded.model.set_attn_implementation("eager")
            try:
                return bare_forward_ms(loaded, text)
            finally:
                loaded.model.set_attn_implementation(implementation)

        return float(self._on_worker_thread(timed))

    def close(self) -> None:
        """Close the window (stops its worker thread)."""
        self.window.close()
        self.app.processEvents()


def panel_views(window: MainWindow) -> dict[str, QWidget]:
    """Every view (plot, table, text) inside the window's panels, by a readable name.

    The views the switch timings need have fixed names; any other panel's scroll areas
    (present now or added later) are found through the window's docks.
    """
    attention, norms = window.attention_panel, window.norms_panel
    views: dict[str, QWidget] = {
        "tokens.table": window.tokens_panel.table.viewport(),
        "attention.heatmap": attention.heatmap.viewport(),
        "attention.overview": attention.overview.viewport(),
        "norms.heatmap": norms.heatmap.viewport(),
        "norms.curve": norms.curve_plot.viewport(),
        "pooled.plot": window.pooled_panel.plot.viewport(),
    }
    known = {_key(view) for view in views.values()}
    docks = getattr(window, "docks", {})
    for dock_name, dock in docks.items():
        content = dock.widget()
        if content is None:
            continue
        for index, area in enumerate(content.findChildren(QAbstractScrollArea)):
            viewport = area.viewport()
            if isinstance(area, QHeaderView) or area.window() is not window:
                continue  # headers belong to their table; combo pop-ups are windows of their own
            if _key(viewport) in known:
                continue
            views[f"{dock_name}.{type(area).__name__}{index}"] = viewport
            known.add(_key(viewport))
    return views


# Which views a selection change must repaint.
SWITCH_VIEWS = {
    "layer": ("attention.heatmap", "attention.overview", "norms.heatmap", "norms.curve"),
    "head": ("attention.heatmap", "attention.overview"),
    "token": ("tokens.table", "attention.heatmap", "norms.heatmap", "norms.curve"),
}


def bare_forward_ms(loaded: Any, text: str) -> float:
    """The floor: the model's own eager forward pass with every output, nothing else."""
    import torch

    enc = loaded.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        started = time.perf_counter()
        outputs = loaded.model(**enc, output_attentions=True, output_hidden_states=True)
        elapsed = time.perf_counter() - started
    del outputs
    return elapsed * 1000.0
