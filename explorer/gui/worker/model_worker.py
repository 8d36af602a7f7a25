"""The long-lived worker that owns the model, and the controller that owns its thread.

One worker thread, one model, any number of clients: the main window is one (the controller
itself), a compare window another (``controller.client()``). Requests go into a lock-guarded
mailbox keyed by (client, kind) that holds only the newest of each (latest wins within a
client; clients take turns, so one never starves another); a queued ``_wake`` signal makes the
worker drain it. Every reply carries its client and request id and each client drops the
replies it no longer waits for: a forward pass cannot be interrupted, so stale work is
dropped, not cancelled, and one window's edits never make another's requests stale.

A client may show several results at once (the compare window's sides): each is a *stream*
of that client (``""`` unless named), with its own newest request and its own newest result in
the worker, so analyses of either side are possible.

While a forward pass runs, its completed layers go to the client too (``layers_ready``, a
``LayersOutcome`` whose progress only grows): one queued message until the GUI claims the
count, none once a newer request of the stream waits, and the client drops those of a request
that is not its newest, so a stale pass's layers never reach the panels.

Requests come in two kinds. Analyses are pure computations: cached by their inputs, latest
wins. Jobs have side effects (a file written): they queue, are never cached nor dropped, and
each one is reported with ``job_done`` or ``job_failed``.
"""

from __future__ import annotations

import functools
import gc
import math
import threading
import time
import weakref
from collections import deque
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
from explorer.core.progress import reporting_progress
from explorer.core.progressive import LayerProgress
from explorer.core.results import InferenceResult, ModelInfo
from explorer.core.sources import ModelSource
from explorer.core.views import DisplayViews
from explorer.gui.worker.pyside_imports import feature_hook_paused, lighten_feature_check

CLOSE_WAIT_MS = 500  # a closing window waits this long, then exits: a forward pass cannot stop
MAIN_CLIENT = 0  # the controller's own channel (the main window)
SECOND_MODEL = "b"  # an inference's ``model`` naming the comparison's model B
_LIVE_THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()
# Threads still busy when their window closed: referenced here until the process exits.
_ABANDONED: list[tuple[QThread, QObject]] = []


def weight_bytes(info: ModelInfo) -> int:
    """Bytes of a model's weights in float32 (its parameter table, read at load time)."""
    return 4 * sum(math.prod(shape) for _name, shape in info.parameters)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


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
    stream: str = ""  # which of the client's streams it belongs to


@dataclass(frozen=True, eq=False)
class LayersOutcome:
    """Layers of an inference still under way (its ``progress`` only grows), for its request.

    Only the layers below the count that ``progress.claim()`` returns may be read; the final
    InferenceOutcome of the same request replaces it.
    """

    request_id: int
    progress: LayerProgress
    picked_up_at: float  # time.perf_counter() when the worker took the request
    stream: str = ""


@dataclass(frozen=True, eq=False)
class AnalysisOutcome:
    """An on-demand analysis of the result with id ``result_id``."""

    request_id: int
    result_id: int
    name: str
    params: dict[str, Any]
    payload: Any
    stream: str = ""  # the client's stream whose result it analyses


_CacheKey = tuple[int, str, tuple[tuple[str, Any], ...]]  # (result id, name, params)
_StreamKey = tuple[int, str]  # (client, stream): one line of results with its own newest


@dataclass(frozen=True)
class _AnalysisRequest:
    client: int
    stream: str
    request_id: int
    result_id: int
    name: str
    params: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, eq=False)
class _JobRequest:
    client: int
    request_id: int
    name: str
    result: InferenceResult  # the result the client shows: the job never depends on timing
    params: dict[str, Any]


@dataclass(frozen=True)
class _InferenceRequest:
    client: int
    stream: str
    request_id: int
    text: str
    pair: str | None
    knocked_out: tuple[tuple[int, int], ...] = ()  # heads switched off, (layer, head) from 0
    model: str = ""  # "" the model every window shares, SECOND_MODEL the comparison's model B


@dataclass(frozen=True)
class _SecondLoadRequest:
    """Model B of a two-model comparison, kept beside the shared model (never replacing it)."""

    request_id: int
    source: ModelSource


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
    result_ready = Signal(int, object)
    """An inference finished: client, InferenceOutcome."""
    layers_ready = Signal(int, object)
    """Layers of an inference under way are complete (one message until claimed): client,
    LayersOutcome."""
    inference_failed = Signal(int, int, str, str)
    """An inference failed: client, request id, message, stream."""
    analysis_ready = Signal(int, object)
    """An on-demand analysis finished: client, AnalysisOutcome."""
    analysis_failed = Signal(int, int, str, str, str)
    """An analysis failed: client, request id, analysis name, message, stream."""
    analysis_progress = Signal(int, int, str, int, int, str)
    """A long analysis got further: client, request id, name, steps done, steps, stream."""
    job_done = Signal(int, int, str, str)
    """A job did its work: client, request id, job name, what it wrote (a path)."""
    job_failed = Signal(int, int, str, str)
    """A job failed and wrote nothing: client, request id, job name, message."""
    cache_scanned = Signal(object)
    """The local Hugging Face cache was scanned: list[CachedModel]."""
    second_loaded = Signal(int, object)
    """Model B is held (loaded, or the shared model itself): request id, ModelInfo."""
    second_load_failed = Signal(int, str)
    """Model B could not be loaded (the previous B stays): request id, message."""
    _wake = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._pending_load: _LoadRequest | None = None
        # Newest of each kind per client stream; dict order is the turn order between clients
        # (a client's newer request takes its older one's place in the queue, not the last).
        self._pending_inferences: dict[_StreamKey, _InferenceRequest] = {}
        self._pending_analyses: dict[tuple[int, str, str], _AnalysisRequest] = {}
        self._pending_jobs: deque[_JobRequest] = deque()  # every one runs, in order
        self._stopping = False
        self._cancelled_load = 0
        self._scan_requested = False
        self._loaded = None  # LoadedModel, touched only in the worker thread
        # Model B of a two-model comparison (worker thread only): the shared model itself when
        # both name the same source, so B never loads a second copy of A.
        self._second = None
        self._pending_second: _SecondLoadRequest | None = None
        # Each stream's newest result (for its analyses) and the cache of analyses of it.
        self._current: dict[_StreamKey, tuple[int, InferenceResult]] = {}
        self._analysis_cache: dict[_StreamKey, dict[_CacheKey, Any]] = {}
        self._forgotten: set[int] = set()  # clients gone since the worker last looked
        self._wake.connect(self._on_wake)

    # --- mailbox (any thread) ------------------------------------------------------------
    def post_load(self, request_id: int, source: ModelSource) -> None:
        """Ask for a model; replaces any load not yet started."""
        with self._lock:
            self._pending_load = _LoadRequest(request_id, source)
        self._wake.emit()

    def post_inference(
        self,
        client: int,
        stream: str,
        request_id: int,
        text: str,
        pair: str | None,
        knocked_out: tuple[tuple[int, int], ...] = (),
        model: str = "",
    ) -> None:
        """Ask for an inference (of model B when ``model`` is SECOND_MODEL); latest wins."""
        request = _InferenceRequest(client, stream, request_id, text, pair, knocked_out, model)
        with self._lock:
            self._pending_inferences[(client, stream)] = request
        self._wake.emit()

    def post_analysis(
        self,
        client: int,
        stream: str,
        request_id: int,
        result_id: int,
        name: str,
        params: dict[str, Any],
    ) -> None:
        """Ask for an analysis of the stream's result ``result_id``; latest wins per name."""
        frozen = tuple(sorted(params.items()))
        request = _AnalysisRequest(client, stream, request_id, result_id, name, frozen)
        with self._lock:
            self._pending_analyses[(client, stream, name)] = request
        self._wake.emit()

    def post_job(
        self,
        client: int,
        request_id: int,
        name: str,
        result: InferenceResult,
        params: dict[str, Any],
    ) -> None:
        """Queue a job on ``result``: never replaces another, never cached."""
        with self._lock:
            self._pending_jobs.append(_JobRequest(client, request_id, name, result, dict(params)))
        self._wake.emit()

    def post_second_load(self, request_id: int, source: ModelSource) -> None:
        """Ask for model B beside the shared model; replaces a B load not yet started."""
        with self._lock:
            self._pending_second = _SecondLoadRequest(request_id, source)
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

    def discard_pending(self, client: int = MAIN_CLIENT) -> None:
        """Forget the client's queued inferences, every stream's (its input was cleared)."""
        with self._lock:
            for key in [key for key in self._pending_inferences if key[0] == client]:
                del self._pending_inferences[key]

    def forget_client(self, client: int) -> None:
        """The client is gone: drop its queued inference and analyses, its result and cache.

        Its queued jobs still run (they were asked for); nobody hears their replies.
        """
        with self._lock:
            for key in [key for key in self._pending_inferences if key[0] == client]:
                del self._pending_inferences[key]
            for analysis in [key for key in self._pending_analyses if key[0] == client]:
                del self._pending_analyses[analysis]
            self._forgotten.add(client)  # its result and cache: the worker thread's to drop
        self._wake.emit()

    def stop(self) -> None:
        """Make the drain loop return after the current step."""
        with self._lock:
            self._stopping = True
            self._pending_load = None
            self._pending_second = None
            self._pending_inferences.clear()
            self._pending_analyses.clear()
            self._pending_jobs.clear()

    # --- worker thread -------------------------------------------------------------------
    def _take(
        self,
    ) -> (
        _LoadRequest
        | _SecondLoadRequest
        | _JobRequest
        | _InferenceRequest
        | _AnalysisRequest
        | _ScanRequest
        | None
    ):
        with self._lock:
            if self._stopping:
                return None
            for kept in (self._current, self._analysis_cache):  # see forget_client
                for stream in [key for key in kept if key[0] in self._forgotten]:
                    del kept[stream]
            self._forgotten.clear()
            if self._pending_jobs:  # first: asked of the model that made the result on show
                return self._pending_jobs.popleft()
            if self._pending_load is not None:
                request, self._pending_load = self._pending_load, None
                return request
            if self._pending_second is not None and self._loaded is not None:
                second, self._pending_second = self._pending_second, None
                return second
            if self._pending_inferences and self._loaded is not None:
                return self._pending_inferences.pop(next(iter(self._pending_inferences)))
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
            elif isinstance(request, _SecondLoadRequest):
                self._load_second(request)
            elif isinstance(request, _JobRequest):
                self._run_job(request)
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
        self._current.clear()
        self._analysis_cache.clear()  # cached answers came from the previous model
        release_freed_memory()  # the previous model's pages, kept for nothing now
        # torch, transformers and the model are a million long-lived objects; a full garbage
        # collection scanning them takes ~0.25 s, in whichever thread triggers it (often the
        # GUI's). Frozen, they are skipped; reference counting still frees them as usual.
        gc.collect(1)  # the load's garbage first (0.3 s), so that it is not frozen with them
        gc.freeze()
        with self._lock:
            # Inputs queued for the previous model must not come back looking like the new one's.
            self._pending_inferences.clear()
        return loaded.info

    def _load_second(self, request: _SecondLoadRequest) -> None:
        """Hold model B: the shared model when it is the same source, else its own load."""
        from explorer.core.loading import load_model

        shared = self._loaded
        if shared is not None and shared.info.source == request.source.spec:
            self._second = shared  # the same weights: no second copy in memory
        else:
            try:
                with feature_hook_paused(), collections_paused():
                    second = load_model(request.source)
            except ExplorerError as err:
                self.second_load_failed.emit(request.request_id, str(err))
                return
            except Exception as err:
                message = f"Loading failed unexpectedly: {type(err).__name__}: {err}"
                self.second_load_failed.emit(request.request_id, message)
                return
            self._second = second
        self.second_loaded.emit(request.request_id, self._second.info)

    def _model_for(self, request: _InferenceRequest) -> Any:
        """The model an inference asks for (None: model B was asked for but is not held)."""
        return self._second if request.model == SECOND_MODEL else self._loaded

    def _infer(self, request: _InferenceRequest) -> None:
        from explorer.core.inference import run_inference_with_views

        client, stream = request.client, request.stream
        picked_up_at = time.perf_counter()
        loaded = self._model_for(request)
        if loaded is None:
            message = "Load model B first: no second model is loaded."
            self.inference_failed.emit(client, request.request_id, message, stream)
            return
        try:
            info = loaded.info
            # Heads the model does not have wait for one that has them (a session's, say).
            heads = [
                h for h in request.knocked_out if h[0] < info.num_layers and h[1] < info.num_heads
            ]
            on_layer = self._layer_relay(request, picked_up_at)
            result, views = run_inference_with_views(
                loaded, request.text, request.pair, heads, on_layer
            )
        except ExplorerError as err:
            self.inference_failed.emit(client, request.request_id, str(err), stream)
            return
        except Exception as err:
            message = f"The model failed on this input: {type(err).__name__}: {err}"
            self.inference_failed.emit(client, request.request_id, message, stream)
            return
        compute_ms = (time.perf_counter() - picked_up_at) * 1000.0
        self._current[(client, stream)] = (request.request_id, result)
        self._analysis_cache.pop((client, stream), None)  # they were of its previous result
        outcome = InferenceOutcome(
            request.request_id, result, views, picked_up_at, compute_ms, stream
        )
        self.result_ready.emit(client, outcome)

    def _layer_relay(
        self, request: _InferenceRequest, picked_up_at: float
    ) -> Callable[[LayerProgress], None]:
        """Hand each completed layer to the client, coalesced: one message until it claims.

        Nothing is sent once a newer request of the same stream waits: the client would drop it.
        """
        key = (request.client, request.stream)

        def on_layer(progress: LayerProgress) -> None:
            with self._lock:
                stale = key in self._pending_inferences or self._stopping
            if not stale and progress.tell():
                outcome = LayersOutcome(request.request_id, progress, picked_up_at, request.stream)
                self.layers_ready.emit(request.client, outcome)

        return on_layer

    def _scan_cache(self) -> None:
        from explorer.core.cache_scan import cached_bert_models

        try:
            found = cached_bert_models()
        except Exception:  # a broken cache must not break the picker: offer what we have
            found = []
        self.cache_scanned.emit(found)

    def _analyse(self, request: _AnalysisRequest) -> None:
        from explorer.core.analysis.registry import needs_result, run_analysis

        client, stream = request.client, request.stream
        current = self._current.get((client, stream))
        fresh = current is not None and current[0] == request.result_id
        if not fresh and needs_result(request.name):
            return  # the result it was asked for is gone; the client no longer waits for it
        result = current[1] if fresh and current is not None else None
        key = (request.result_id if fresh else 0, request.name, request.params)
        params = dict(request.params)
        cache = self._analysis_cache.setdefault((client, stream), {})
        # Analyses that read weights (norm-based, …) use the model that made the result.
        second = self._second
        made_by_b = second is not None and result is not None and result.model == second.info
        loaded = second if made_by_b else self._loaded

        def progress(done: int, total: int) -> None:
            self.analysis_progress.emit(
                client, request.request_id, request.name, done, total, stream
            )

        try:
            if key not in cache:
                with reporting_progress(progress):
                    cache[key] = run_analysis(request.name, loaded, result, params)
        except ExplorerError as err:
            self.analysis_failed.emit(client, request.request_id, request.name, str(err), stream)
            return
        except Exception as err:
            message = f"{request.name} failed: {type(err).__name__}: {err}"
            self.analysis_failed.emit(client, request.request_id, request.name, message, stream)
            return
        outcome = AnalysisOutcome(
            request.request_id, request.result_id, request.name, params, cache[key], stream
        )
        self.analysis_ready.emit(client, outcome)

    def _run_job(self, request: _JobRequest) -> None:
        from explorer.core.analysis.registry import run_job

        # The weights are handed on only if they made the result (a load may have come in
        # between); a job that needs them says so instead of mixing two models.
        loaded = self._loaded
        if loaded is not None and loaded.info != request.result.model:
            loaded = None
        try:
            written = run_job(request.name, loaded, request.result, request.params)
        except ExplorerError as err:
            self.job_failed.emit(request.client, request.request_id, request.name, str(err))
            return
        except Exception as err:
            message = f"{request.name} failed: {type(err).__name__}: {err}"
            self.job_failed.emit(request.client, request.request_id, request.name, message)
            return
        self.job_done.emit(request.client, request.request_id, request.name, str(written))


class ModelClient(QObject):
    """One window's channel to the shared worker: its newest requests and its replies.

    Latest wins within a client only: another window's requests never make this one's stale.
    A client that shows several results at once names a stream for each (``stream=``, the
    compare window's ``"a"`` and ``"b"``): each stream has its own newest inference, result and
    analyses. The model is everyone's: its load signals reach every client. Made by
    ``ModelController.client()``; the controller is itself the main window's client.
    """

    busy_changed = Signal(bool)
    """This client's newest inference, or a model load, is in flight (or no longer)."""
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
    """A result for this client's newest request: InferenceOutcome."""
    inference_failed = Signal(str)
    """This client's newest inference failed: message."""
    layers_ready = Signal(object)
    """Layers of this client's newest inference, still under way: LayersOutcome."""
    stale_dropped = Signal(int)
    """A reply for an old request of this client was dropped: its request id."""
    analysis_ready = Signal(object)
    """An analysis of this client's result on show: AnalysisOutcome (its ``stream`` says whose)."""
    analysis_failed = Signal(str, str, str)
    """This client's newest request for an analysis failed: name, message, stream."""
    analysis_progress = Signal(str, int, int)
    """This client's newest request for a long analysis got further: name, done, total."""
    job_done = Signal(int, str, str)
    """A job this client asked for did its work: request id, job name, path written."""
    job_failed = Signal(int, str, str)
    """A job this client asked for failed, nothing written: request id, job name, message."""
    second_model_loaded = Signal(object)
    """Model B of a two-model comparison is held: its ModelInfo."""
    second_model_failed = Signal(str)
    """Model B could not be loaded; the previous B (if any) stays: message."""

    def __init__(self, hub: ModelController, key: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._hub = hub
        self._key = key
        # Per stream ('' unless the client names its streams, as the compare window's sides):
        self._latest_inference: dict[str, int] = {}
        self._open: set[str] = set()  # streams whose newest inference is unanswered
        self._last_inputs: dict[str, tuple[str, str | None, tuple[tuple[int, int], ...]]] = {}
        self._shown_result_id: dict[str, int] = {}
        self._latest_analysis: dict[tuple[str, str], int] = {}  # (stream, name) → request id
        self._stream_model: dict[str, str] = {}  # streams of model B (SECOND_MODEL)
        self._busy_shown = False

    # --- read side ---------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a load or this client's newest inference (of any stream) is unanswered."""
        return bool(self._open) or self._hub.loading

    @property
    def loading(self) -> bool:
        """True while the newest load is unanswered."""
        return self._hub.loading

    @property
    def model_info(self) -> ModelInfo | None:
        """The model the worker holds (the same for every client), None before any."""
        return self._hub.current_model

    # --- requests ----------------------------------------------------------------------
    def request_inference(
        self,
        text: str,
        pair: str | None,
        stream: str = "",
        knocked_out: tuple[tuple[int, int], ...] = (),
        model: str | None = None,
    ) -> int:
        """Run the newest input of ``stream``; its older unanswered request becomes stale.

        ``knocked_out`` heads ((layer, head) from 0) are switched off in the pass. ``model``
        SECOND_MODEL runs model B (see ModelController.request_second_model); the stream keeps
        the model it was last asked of.
        """
        request_id = self._latest_inference[stream] = self._hub.new_id()
        if model is not None:
            self._stream_model[stream] = model
        self._last_inputs[stream] = (text, pair, knocked_out)
        self._set_open(stream, True)
        worker = self._hub.worker
        post = worker.post_inference
        which = self._stream_model.get(stream, "")
        self._post(post, self._key, stream, request_id, text, pair, knocked_out, which)
        return request_id

    def request_analysis(self, name: str, params: dict[str, Any], stream: str = "") -> int:
        """Compute ``name`` for the stream's result on show; older ``name`` requests go stale."""
        request_id = self._latest_analysis[(stream, name)] = self._hub.new_id()
        shown = self._shown_result_id.get(stream, 0)
        worker = self._hub.worker
        self._post(worker.post_analysis, self._key, stream, request_id, shown, name, params)
        return request_id

    def request_second_model(self, source: ModelSource) -> int:
        """Hold model B beside the shared model (see ModelController.request_second_model)."""
        return self._hub.load_second_model(source)

    @property
    def second_model(self) -> ModelInfo | None:
        """Model B, None before one is loaded."""
        return self._hub.held_second_model

    def memory_text(self) -> str:
        """How much memory the weights of the models in the worker take."""
        return self._hub.weights_text()

    def request_job(self, name: str, result: InferenceResult, params: dict[str, Any]) -> int:
        """Queue job ``name`` (a file write) on ``result``; answered by job_done or job_failed.

        Jobs are never cached nor dropped as stale: asking twice writes twice.
        """
        request_id = self._hub.new_id()
        self._post(self._hub.worker.post_job, self._key, request_id, name, result, params)
        return request_id

    def cancel_inference(self) -> None:
        """Forget every stream's newest request (input cleared): replies in flight are dropped."""
        for stream in self._latest_inference:
            self._latest_inference[stream] = self._hub.new_id()
        self._last_inputs.clear()
        self._post(self._hub.worker.discard_pending, self._key)
        self._open.clear()
        self._refresh_busy()

    def close(self) -> None:
        """Stop listening: queued work is dropped, replies go nowhere; the worker goes on."""
        self._hub.release(self._key)
        self._open.clear()
        self._refresh_busy()

    def _post(self, method: Callable[..., None], *args: Any) -> None:
        """Hand work to the worker, unless this client was closed (nobody would hear it)."""
        if self._hub.serves(self._key):
            self._hub.post(method, *args)

    # --- replies (from the controller, GUI thread) --------------------------------------
    def _set_open(self, stream: str, open_: bool) -> None:
        if open_:
            self._open.add(stream)
        else:
            self._open.discard(stream)
        self._refresh_busy()

    def _refresh_busy(self) -> None:
        if self.busy != self._busy_shown:
            self._busy_shown = self.busy
            self.busy_changed.emit(self._busy_shown)

    def _model_arrived(self, info: ModelInfo) -> None:
        self._refresh_busy()
        self.model_loaded.emit(info)
        # The worker dropped them: run each stream's last input on the new model.
        for stream, (text, pair, heads) in list(self._last_inputs.items()):
            self.request_inference(text, pair, stream, heads)

    def _load_ended(self, has_model: bool) -> None:
        # Without any model, queued inputs can never run: stop showing them as in flight.
        if not has_model:
            self._open.clear()
        self._refresh_busy()

    def _accept_result(self, outcome: InferenceOutcome) -> None:
        stream = outcome.stream
        if outcome.request_id != self._latest_inference.get(stream):
            self.stale_dropped.emit(outcome.request_id)
            return
        self._set_open(stream, False)
        self._shown_result_id[stream] = outcome.request_id
        self.result_ready.emit(outcome)

    def is_newest(self, request_id: int, stream: str = "") -> bool:
        """Whether ``request_id`` is the stream's newest inference request (not stale)."""
        return self._latest_inference.get(stream) == request_id

    def _accept_layers(self, outcome: LayersOutcome) -> None:
        # A stale pass's layers stop here: they never reach the panels after a newer request.
        if self.is_newest(outcome.request_id, outcome.stream):
            self.layers_ready.emit(outcome)

    def _accept_inference_failure(self, request_id: int, message: str, stream: str) -> None:
        if request_id != self._latest_inference.get(stream):
            self.stale_dropped.emit(request_id)
            return
        self._set_open(stream, False)
        self.inference_failed.emit(message)

    def _accept_analysis(self, outcome: AnalysisOutcome) -> None:
        stream = outcome.stream
        from explorer.core.analysis.registry import needs_result

        fresh = self._latest_analysis.get((stream, outcome.name)) == outcome.request_id
        # A result shown meanwhile makes stale only what was computed from the result: the
        # Context panel's sentences are its own, and it would wait for its answer for good.
        of_old_result = outcome.result_id != self._shown_result_id.get(stream, 0)
        if not fresh or (of_old_result and needs_result(outcome.name)):
            self.stale_dropped.emit(outcome.request_id)
            return
        self.analysis_ready.emit(outcome)

    def _accept_analysis_progress(
        self, request_id: int, name: str, done: int, total: int, stream: str
    ) -> None:
        if self._latest_analysis.get((stream, name)) == request_id:
            self.analysis_progress.emit(name, done, total)

    def _accept_analysis_failure(
        self, request_id: int, name: str, message: str, stream: str
    ) -> None:
        if self._latest_analysis.get((stream, name)) != request_id:
            self.stale_dropped.emit(request_id)
            return
        self.analysis_failed.emit(name, message, stream)


class ModelController(ModelClient):
    """Owns the worker thread and the model; is the main window's client, makes others.

    Loads and the cache scan are the controller's alone (one model for every window);
    inference, analyses and jobs go through a client. Replies are routed by client.
    """

    cached_models_found = Signal(object)
    """BERT-family models found in the local Hugging Face cache: list[CachedModel]."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(self, MAIN_CLIENT, parent)
        self._next_id = 0
        self._next_client = MAIN_CLIENT
        self._clients: dict[int, ModelClient] = {MAIN_CLIENT: self}
        self._latest_load = 0
        self._load_open = False
        self._model: ModelInfo | None = None
        self._second_model: ModelInfo | None = None
        self._latest_second = 0
        self._closed = False
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
        self._worker.layers_ready.connect(self._on_worker_layers_ready)
        self._worker.inference_failed.connect(self._on_worker_inference_failed)
        self._worker.cache_scanned.connect(self.cached_models_found)
        self._worker.analysis_ready.connect(self._on_worker_analysis_ready)
        self._worker.analysis_failed.connect(self._on_worker_analysis_failed)
        self._worker.analysis_progress.connect(self._on_worker_analysis_progress)
        self._worker.job_done.connect(self._on_worker_job_done)
        self._worker.job_failed.connect(self._on_worker_job_failed)
        self._worker.second_loaded.connect(self._on_worker_second_loaded)
        self._worker.second_load_failed.connect(self._on_worker_second_failed)
        _LIVE_THREADS.add(self._thread)
        self._thread.start()

    # --- for clients -------------------------------------------------------------------
    @property
    def worker(self) -> ModelWorker:
        """The worker's mailbox (its ``post_*`` methods are safe from the GUI thread)."""
        return self._worker

    @property
    def loading(self) -> bool:
        """True while the newest load is unanswered."""
        return self._load_open

    @property
    def current_model(self) -> ModelInfo | None:
        """The model the worker holds, None before the first load ends."""
        return self._model

    def new_id(self) -> int:
        """A request id, unique across clients."""
        self._next_id += 1
        return self._next_id

    def post(self, method: Callable[..., None], *args: Any) -> None:
        """Hand work to the worker, unless it was shut down (its QObject may be gone)."""
        if not self._closed:
            method(*args)

    def client(self, parent: QObject | None = None) -> ModelClient:
        """A new channel to this worker and model (for another window); ``close()`` it."""
        self._next_client += 1
        key = self._next_client
        client = ModelClient(self, key, parent)
        self._clients[key] = client
        client.destroyed.connect(functools.partial(self.release, key))
        return client

    def serves(self, key: int) -> bool:
        """Whether client ``key`` is open (made here and not closed)."""
        return key in self._clients

    def release(self, key: int, *_destroyed: object) -> None:
        """Forget client ``key``: its queued work is dropped and its replies go nowhere."""
        if self._clients.pop(key, None) is not None:
            self.post(self._worker.forget_client, key)

    # --- the model (every client) ------------------------------------------------------
    def request_load(self, source: ModelSource) -> int:
        """Load a model in the worker; returns the request id."""
        request_id = self._latest_load = self.new_id()
        self._set_load_open(True)
        self.post(self._worker.post_load, request_id, source)
        return request_id

    def load_second_model(self, source: ModelSource) -> int:
        """Hold model B beside the shared model, in the same worker thread.

        The same source as the shared model is not loaded again: B is then A's very weights.
        Inferences of B: ``request_inference(..., model=SECOND_MODEL)`` on any client.
        """
        request_id = self._latest_second = self.new_id()
        self.post(self._worker.post_second_load, request_id, source)
        return request_id

    @property
    def held_second_model(self) -> ModelInfo | None:
        """Model B, None before one is loaded."""
        return self._second_model

    def weights_text(self) -> str:
        """How much memory the models' weights take (float32), B counted once if it is A."""
        models = [m for m in (self._model, self._second_model) if m is not None]
        if not models:
            return ""
        sizes = [weight_bytes(m) for m in models]
        if len(models) == 1:
            return f"weights {_megabytes(sizes[0])}"
        if self._second_model == self._model:
            return f"A and B: the same weights, {_megabytes(sizes[0])} (loaded once)"
        return (
            f"A {_megabytes(sizes[0])} + B {_megabytes(sizes[1])} = "
            f"{_megabytes(sum(sizes))} of weights"
        )

    def scan_cache(self) -> None:
        """Look for cached BERT models in the worker; answers with cached_models_found."""
        self.post(self._worker.post_cache_scan)

    def cancel_load(self) -> None:
        """Cancel the newest load; the model in use stays."""
        if self._load_open:
            self.post(self._worker.cancel_load, self._latest_load)

    def _set_load_open(self, open_: bool) -> None:
        self._load_open = open_
        for client in list(self._clients.values()):
            client._refresh_busy()

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
    def _each_client(self) -> list[ModelClient]:
        return list(self._clients.values())

    @Slot(int, str)
    def _on_worker_load_started(self, request_id: int, label: str) -> None:
        for client in self._each_client():
            client.load_started.emit(label)

    @Slot(int, object)
    def _on_worker_model_loaded(self, request_id: int, info: ModelInfo) -> None:
        # Whatever load finished, the worker now holds that model, so it is the active one.
        self._model = info
        if request_id == self._latest_load:
            self._load_open = False
        for client in self._each_client():
            client._model_arrived(info)

    @Slot(int, str)
    def _on_worker_load_failed(self, request_id: int, message: str) -> None:
        if request_id != self._latest_load:
            return
        self._load_open = False
        for client in self._each_client():
            client._load_ended(self._model is not None)
            client.load_failed.emit(message)

    @Slot(int, str, int)
    def _on_worker_load_progress(self, request_id: int, stage: str, percent: int) -> None:
        if request_id == self._latest_load:
            for client in self._each_client():
                client.load_progress.emit(stage, percent)

    @Slot(int)
    def _on_worker_load_cancelled(self, request_id: int) -> None:
        if request_id != self._latest_load:
            return
        self._load_open = False
        for client in self._each_client():
            client._load_ended(self._model is not None)
            client.load_cancelled.emit()

    @Slot(int, object)
    def _on_worker_second_loaded(self, request_id: int, info: ModelInfo) -> None:
        self._second_model = info
        if request_id == self._latest_second:
            for client in self._each_client():
                client.second_model_loaded.emit(info)

    @Slot(int, str)
    def _on_worker_second_failed(self, request_id: int, message: str) -> None:
        if request_id == self._latest_second:
            for client in self._each_client():
                client.second_model_failed.emit(message)

    @Slot(int, object)
    def _on_worker_layers_ready(self, key: int, outcome: LayersOutcome) -> None:
        if (client := self._clients.get(key)) is not None:
            client._accept_layers(outcome)

    @Slot(int, object)
    def _on_worker_result_ready(self, key: int, outcome: InferenceOutcome) -> None:
        if (client := self._clients.get(key)) is not None:
            client._accept_result(outcome)

    @Slot(int, int, str, str)
    def _on_worker_inference_failed(
        self, key: int, request_id: int, message: str, stream: str
    ) -> None:
        if (client := self._clients.get(key)) is not None:
            client._accept_inference_failure(request_id, message, stream)

    @Slot(int, object)
    def _on_worker_analysis_ready(self, key: int, outcome: AnalysisOutcome) -> None:
        if (client := self._clients.get(key)) is not None:
            client._accept_analysis(outcome)

    @Slot(int, int, str, int, int, str)
    def _on_worker_analysis_progress(
        self, key: int, request_id: int, name: str, done: int, total: int, stream: str
    ) -> None:
        if (client := self._clients.get(key)) is not None:
            client._accept_analysis_progress(request_id, name, done, total, stream)

    @Slot(int, int, str, str, str)
    def _on_worker_analysis_failed(
        self, key: int, request_id: int, name: str, message: str, stream: str
    ) -> None:
        if (client := self._clients.get(key)) is not None:
            client._accept_analysis_failure(request_id, name, message, stream)

    @Slot(int, int, str, str)
    def _on_worker_job_done(self, key: int, request_id: int, name: str, written: str) -> None:
        if (client := self._clients.get(key)) is not None:
            client.job_done.emit(request_id, name, written)

    @Slot(int, int, str, str)
    def _on_worker_job_failed(self, key: int, request_id: int, name: str, message: str) -> None:
        if (client := self._clients.get(key)) is not None:
            client.job_failed.emit(request_id, name, message)
