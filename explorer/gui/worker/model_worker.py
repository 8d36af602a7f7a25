"""The long-lived worker that owns the model, and the controller that owns its thread.

Requests go into a lock-guarded mailbox that holds only the newest of each kind (latest wins);
a queued ``_wake`` signal makes the worker drain it. Every reply carries its request id and the
controller drops replies it no longer waits for: a forward pass cannot be interrupted, so stale
work is dropped, not cancelled.
"""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from explorer.core.errors import ExplorerError
from explorer.core.memory import (
    collections_paused,
    keep_freed_memory,
    release_freed_memory,
)
from explorer.core.results import InferenceResult, ModelInfo
from explorer.core.sources import ModelSource
from explorer.core.views import DisplayViews
from explorer.gui.worker.pyside_imports import feature_hook_paused, lighten_feature_check

CLOSE_WAIT_MS = 500  # a closing window waits this long, then exits: a forward pass cannot stop
_LIVE_THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()
# Threads still busy when their window closed: referenced here until the process exits.
_ABANDONED: list[tuple[QThread, QObject]] = []


def abandoned_worker_threads() -> list[QThread]:
    """Threads a closing window stopped but did not wait for (they end after their job)."""
    return [thread for thread, _worker in _ABANDONED]


def running_worker_threads() -> list[QThread]:
    """Worker threads still running (tests fail when any outlives its window)."""
    return [thread for thread in list(_LIVE_THREADS) if thread.isRunning()]


@dataclass(frozen=True, eq=False)
class InferenceOutcome:
    """A result tagged with the request it answers, plus timings for the benchmark."""

    request_id: int
    result: InferenceResult
    views: DisplayViews
    picked_up_at: float  # time.perf_counter() when the worker took the request
    compute_ms: float


@dataclass(frozen=True, eq=False)
class AnalysisOutcome:
    """An on-demand analysis of the result with id ``result_id``."""

    request_id: int
    result_id: int
    name: str
    params: dict[str, Any]
    payload: Any


@dataclass(frozen=True)
class _AnalysisRequest:
    request_id: int
    result_id: int
    name: str
    params: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class _InferenceRequest:
    request_id: int
    text: str
    pair: str | None


@dataclass(frozen=True)
class _ScanRequest:
    """Look for BERT models in the local Hugging Face cache (file I/O, kept off the GUI)."""


@dataclass(frozen=True)
class _LoadRequest:
    request_id: int
    source: ModelSource


class ModelWorker(QObject):
    """Owns the tokenizer and model; lives in its own QThread and has no parent."""

    load_started = Signal(int, str)
    """A model load began: request id, source label."""
    model_loaded = Signal(int, object)
    """The worker now holds a new model: request id, ModelInfo."""
    load_failed = Signal(int, str)
    """A load failed and the previous model is kept: request id, message."""
    load_progress = Signal(int, str, int)
    """A load reached a stage: request id, stage, percent."""
    load_cancelled = Signal(int)
    """A load was cancelled and the previous model is kept: request id."""
    result_ready = Signal(object)
    """An inference finished: InferenceOutcome."""
    inference_failed = Signal(int, str)
    """An inference failed: request id, message."""
    analysis_ready = Signal(object)
    """An on-demand analysis finished: AnalysisOutcome."""
    analysis_failed = Signal(int, str, str)
    """An analysis failed: request id, analysis name, message."""
    cache_scanned = Signal(object)
    """The local Hugging Face cache was scanned: list[CachedModel]."""
    _wake = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._pending_load: _LoadRequest | None = None
        self._pending_inference: _InferenceRequest | None = None
        self._pending_analyses: dict[str, _AnalysisRequest] = {}
        self._stopping = False
        self._cancelled_load = 0
        self._scan_requested = False
        self._loaded = None  # LoadedModel, touched only in the worker thread
        self._current: tuple[int, InferenceResult] | None = None  # newest result, for analyses
        self._analysis_cache: dict[tuple[int, str, tuple[tuple[str, Any], ...]], Any] = {}
        self._wake.connect(self._on_wake)

    # --- mailbox (any thread) ------------------------------------------------------------
    def post_load(self, request_id: int, source: ModelSource) -> None:
        """Ask for a model; replaces any load not yet started."""
        with self._lock:
            self._pending_load = _LoadRequest(request_id, source)
        self._wake.emit()

    def post_inference(self, request_id: int, text: str, pair: str | None) -> None:
        """Ask for an inference; replaces any inference not yet started."""
        with self._lock:
            self._pending_inference = _InferenceRequest(request_id, text, pair)
        self._wake.emit()

    def post_analysis(
        self, request_id: int, result_id: int, name: str, params: dict[str, Any]
    ) -> None:
        """Ask for an analysis of result ``result_id``; replaces a queued one of that name."""
        frozen = tuple(sorted(params.items()))
        with self._lock:
            self._pending_analyses[name] = _AnalysisRequest(request_id, result_id, name, frozen)
        self._wake.emit()

    def post_cache_scan(self) -> None:
        """Ask for the list of cached BERT-family models."""
        with self._lock:
            self._scan_requested = True
        self._wake.emit()

    def cancel_load(self, request_id: int) -> None:
        """Cancel a load: dropped if queued, stopped at its next stage if running."""
        with self._lock:
            self._cancelled_load = request_id
            dropped = self._pending_load is not None and self._pending_load.request_id == request_id
            if dropped:
                self._pending_load = None
        if dropped:  # never started, so the worker thread will not report it
            self.load_cancelled.emit(request_id)

    def _load_is_cancelled(self, request_id: int) -> bool:
        with self._lock:
            return self._stopping or self._cancelled_load == request_id

    def discard_pending(self) -> None:
        """Forget queued work (the window is closing or the input was cleared)."""
        with self._lock:
            self._pending_inference = None

    def stop(self) -> None:
        """Make the drain loop return after the current step."""
        with self._lock:
            self._stopping = True
            self._pending_load = None
            self._pending_inference = None
            self._pending_analyses.clear()

    # --- worker thread -------------------------------------------------------------------
    def _take(
        self,
    ) -> _LoadRequest | _InferenceRequest | _AnalysisRequest | _ScanRequest | None:
        with self._lock:
            if self._stopping:
                return None
            if self._pending_load is not None:
                request, self._pending_load = self._pending_load, None
                return request
            if self._pending_inference is not None and self._loaded is not None:
                request, self._pending_inference = self._pending_inference, None
                return request
            if self._pending_analyses and self._loaded is not None:
                return self._pending_analyses.pop(next(iter(self._pending_analyses)))
            if self._scan_requested:
                self._scan_requested = False
                return _ScanRequest()
            return None

    @Slot()
    def _on_wake(self) -> None:
        while (request := self._take()) is not None:
            if isinstance(request, _LoadRequest):
                self._load(request)
            elif isinstance(request, _InferenceRequest):
                self._infer(request)
            elif isinstance(request, _AnalysisRequest):
                self._analyse(request)
            else:
                self._scan_cache()

    def _load(self, request: _LoadRequest) -> None:
        # torch and transformers: see pyside_imports and explorer.core.memory
        with feature_hook_paused(), collections_paused():
            info = self._load_model(request)
        if info is not None:  # announced once the collector runs again
            self.model_loaded.emit(request.request_id, info)

    def _load_model(self, request: _LoadRequest) -> ModelInfo | None:
        """Load and keep the model; its info, or None when the load failed or was cancelled."""
        from explorer.core.loading import LoadCancelledError, load_model

        def report(stage: str, percent: int) -> None:
            if self._load_is_cancelled(request.request_id):
                raise LoadCancelledError("Loading was cancelled.")
            self.load_progress.emit(request.request_id, stage, percent)

        self.load_started.emit(request.request_id, request.source.label)
        try:
            loaded = load_model(request.source, progress=report)
            report("Ready", 100)
        except LoadCancelledError:
            self.load_cancelled.emit(request.request_id)
            return None
        except ExplorerError as err:
            self.load_failed.emit(request.request_id, str(err))
            return None
        except Exception as err:  # never let a worker exception kill the thread silently
            self.load_failed.emit(
                request.request_id, f"Loading failed unexpectedly: {type(err).__name__}: {err}"
            )
            return None
        self._loaded = loaded
        self._current = None
        self._analysis_cache.clear()  # cached answers came from the previous model
        release_freed_memory()  # the previous model's pages, kept for nothing now
        # torch, transformers and the model are a million long-lived objects; a full garbage
        # collection scanning them takes ~0.25 s, in whichever thread triggers it (often the
        # GUI's). Frozen, they are skipped; reference counting still frees them as usual.
        gc.collect(1)  # the load's garbage first (0.3 s), so that it is not frozen with them
        gc.freeze()
        with self._lock:
            # Inputs queued for the previous model must not come back looking like the new one's.
            self._pending_inference = None
        return loaded.info

    def _infer(self, request: _InferenceRequest) -> None:
        from explorer.core.inference import run_inference_with_views

        picked_up_at = time.perf_counter()
        try:
            result, views = run_inference_with_views(self._loaded, request.text, request.pair)
        except ExplorerError as err:
            self.inference_failed.emit(request.request_id, str(err))
            return
        except Exception as err:
            self.inference_failed.emit(
                request.request_id, f"The model failed on this input: {type(err).__name__}: {err}"
            )
            return
        compute_ms = (time.perf_counter() - picked_up_at) * 1000.0
        self._current = (request.request_id, result)
        self._analysis_cache.clear()
        self.result_ready.emit(
            InferenceOutcome(request.request_id, result, views, picked_up_at, compute_ms)
        )

    def _scan_cache(self) -> None:
        from explorer.core.cache_scan import cached_bert_models

        try:
            found = cached_bert_models()
        except Exception:  # a broken cache must not break the picker: offer what we have
            found = []
        self.cache_scanned.emit(found)

    def _analyse(self, request: _AnalysisRequest) -> None:
        from explorer.core.analysis.registry import needs_result, run_analysis

        current = self._current
        fresh = current is not None and current[0] == request.result_id
        if not fresh and needs_result(request.name):
            return  # the result it was asked for is gone; the GUI no longer waits for it
        result = current[1] if fresh and current is not None else None
        key = (request.result_id if fresh else 0, request.name, request.params)
        params = dict(request.params)
        try:
            if key not in self._analysis_cache:
                self._analysis_cache[key] = run_analysis(request.name, self._loaded, result, params)
        except ExplorerError as err:
            self.analysis_failed.emit(request.request_id, request.name, str(err))
            return
        except Exception as err:
            message = f"{request.name} failed: {type(err).__name__}: {err}"
            self.analysis_failed.emit(request.request_id, request.name, message)
            return
        self.analysis_ready.emit(
            AnalysisOutcome(
                request.request_id,
                request.result_id,
                request.name,
                params,
                self._analysis_cache[key],
            )
        )


class ModelController(QObject):
    """Owns the worker thread; hands fresh replies on and drops stale ones."""

    busy_changed = Signal(bool)
    """Work is (or is no longer) in flight."""
    load_started = Signal(str)
    """A model load began: source label."""
    model_loaded = Signal(object)
    """The worker holds a new model: ModelInfo."""
    load_failed = Signal(str)
    """The newest load failed; the previous model stays: message."""
    load_progress = Signal(str, int)
    """The newest load reached a stage: stage, percent."""
    load_cancelled = Signal()
    """The newest load was cancelled; the previous model stays."""
    result_ready = Signal(object)
    """A result for the newest request: InferenceOutcome."""
    inference_failed = Signal(str)
    """The newest inference failed: message."""
    cached_models_found = Signal(object)
    """BERT-family models found in the local Hugging Face cache: list[CachedModel]."""
    stale_dropped = Signal(int)
    """A reply for an old request was dropped: its request id."""
    analysis_ready = Signal(object)
    """An analysis of the result on show: AnalysisOutcome."""
    analysis_failed = Signal(str, str)
    """The newest request for an analysis failed: name, message."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._next_id = 0
        self._latest_inference = 0
        self._latest_load = 0
        self._inference_open = False
        self._load_open = False
        self._has_model = False
        self._last_inputs: tuple[str, str | None] | None = None
        self._shown_result_id = 0
        self._closed = False
        self._latest_analysis: dict[str, int] = {}
        keep_freed_memory()  # before the worker thread allocates: see explorer.core.memory
        lighten_feature_check()  # before the worker imports torch: see pyside_imports
        self._thread = QThread()
        self._thread.setObjectName("explorer-model-worker")
        self._worker = ModelWorker()
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._worker.load_started.connect(self._on_worker_load_started)
        self._worker.model_loaded.connect(self._on_worker_model_loaded)
        self._worker.load_failed.connect(self._on_worker_load_failed)
        self._worker.load_progress.connect(self._on_worker_load_progress)
        self._worker.load_cancelled.connect(self._on_worker_load_cancelled)
        self._worker.result_ready.connect(self._on_worker_result_ready)
        self._worker.inference_failed.connect(self._on_worker_inference_failed)
        self._worker.cache_scanned.connect(self.cached_models_found)
        self._worker.analysis_ready.connect(self._on_worker_analysis_ready)
        self._worker.analysis_failed.connect(self._on_worker_analysis_failed)
        _LIVE_THREADS.add(self._thread)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """True while a load or the newest inference is unanswered."""
        return self._inference_open or self._load_open

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _set_open(self, *, inference: bool | None = None, load: bool | None = None) -> None:
        before = self.busy
        if inference is not None:
            self._inference_open = inference
        if load is not None:
            self._load_open = load
        if self.busy != before:
            self.busy_changed.emit(self.busy)

    def request_load(self, source: ModelSource) -> int:
        """Load a model in the worker; returns the request id."""
        request_id = self._latest_load = self._new_id()
        self._set_open(load=True)
        self._post(self._worker.post_load, request_id, source)
        return request_id

    @property
    def loading(self) -> bool:
        """True while the newest load is unanswered."""
        return self._load_open

    def scan_cache(self) -> None:
        """Look for cached BERT models in the worker; answers with cached_models_found."""
        self._post(self._worker.post_cache_scan)

    def cancel_load(self) -> None:
        """Cancel the newest load; the model in use stays."""
        if self._load_open:
            self._post(self._worker.cancel_load, self._latest_load)

    def request_inference(self, text: str, pair: str | None) -> int:
        """Run the newest input; any older unanswered request becomes stale."""
        request_id = self._latest_inference = self._new_id()
        self._last_inputs = (text, pair)
        self._set_open(inference=True)
        self._post(self._worker.post_inference, request_id, text, pair)
        return request_id

    def request_analysis(self, name: str, params: dict[str, Any]) -> int:
        """Compute ``name`` for the result on show; older requests for ``name`` go stale."""
        request_id = self._latest_analysis[name] = self._new_id()
        self._post(self._worker.post_analysis, request_id, self._shown_result_id, name, params)
        return request_id

    def cancel_inference(self) -> None:
        """Forget the newest request (input cleared): whatever is in flight will be dropped."""
        self._latest_inference = self._new_id()
        self._last_inputs = None
        self._post(self._worker.discard_pending)
        self._set_open(inference=False)

    def _post(self, method: Callable[..., None], *args: Any) -> None:
        """Hand work to the worker, unless it was shut down (its QObject may be gone)."""
        if not self._closed:
            method(*args)

    def shutdown(self, wait_ms: int | None = None) -> bool:
        """Stop the worker thread and wait for it; True when it has stopped.

        A forward pass or ``from_pretrained`` cannot be interrupted. With ``wait_ms`` the wait
        is bounded: a thread still busy then is kept referenced (so Qt never destroys it while
        it runs) and the process owner exits without waiting for it.
        """
        self._closed = True
        if not self._thread.isRunning():
            return True
        self._worker.stop()
        self._thread.quit()
        if wait_ms is None:
            return self._thread.wait()
        if self._thread.wait(wait_ms):
            return True
        _ABANDONED.append((self._thread, self._worker))
        return False

    # --- replies (GUI thread, queued from the worker) -------------------------------------
    @Slot(int, str)
    def _on_worker_load_started(self, request_id: int, label: str) -> None:
        self.load_started.emit(label)

    @Slot(int, object)
    def _on_worker_model_loaded(self, request_id: int, info: ModelInfo) -> None:
        # Whatever load finished, the worker now holds that model, so it is the active one.
        self._has_model = True
        if request_id == self._latest_load:
            self._set_open(load=False)
        self.model_loaded.emit(info)
        if self._last_inputs is not None:
            self.request_inference(*self._last_inputs)

    @Slot(int, str)
    def _on_worker_load_failed(self, request_id: int, message: str) -> None:
        if request_id != self._latest_load:
            return
        # Without any model, queued inputs can never run: stop showing them as in flight.
        self._set_open(load=False, inference=self._inference_open and self._has_model)
        self.load_failed.emit(message)

    @Slot(int, str, int)
    def _on_worker_load_progress(self, request_id: int, stage: str, percent: int) -> None:
        if request_id == self._latest_load:
            self.load_progress.emit(stage, percent)

    @Slot(int)
    def _on_worker_load_cancelled(self, request_id: int) -> None:
        if request_id != self._latest_load:
            return
        self._set_open(load=False, inference=self._inference_open and self._has_model)
        self.load_cancelled.emit()

    @Slot(object)
    def _on_worker_result_ready(self, outcome: InferenceOutcome) -> None:
        if outcome.request_id != self._latest_inference:
            self.stale_dropped.emit(outcome.request_id)
            return
        self._set_open(inference=False)
        self._shown_result_id = outcome.request_id
        self.result_ready.emit(outcome)

    @Slot(int, str)
    def _on_worker_inference_failed(self, request_id: int, message: str) -> None:
        if request_id != self._latest_inference:
            self.stale_dropped.emit(request_id)
            return
        self._set_open(inference=False)
        self.inference_failed.emit(message)

    @Slot(object)
    def _on_worker_analysis_ready(self, outcome: AnalysisOutcome) -> None:
        fresh = self._latest_analysis.get(outcome.name) == outcome.request_id
        if not fresh or outcome.result_id != self._shown_result_id:
            self.stale_dropped.emit(outcome.request_id)
            return
        self.analysis_ready.emit(outcome)

    @Slot(int, str, str)
    def _on_worker_analysis_failed(self, request_id: int, name: str, message: str) -> None:
        if self._latest_analysis.get(name) != request_id:
            self.stale_dropped.emit(request_id)
            return
        self.analysis_failed.emit(name, message)
