"""Measurements that need a fresh process: ``python -m explorer.bench.probes KIND ARGS...``.

Each probe prints one line ``BENCH_JSON {...}`` on stdout. Times "since process start" are
measured from ``t0``, the parent's ``time.time()`` taken just before it spawned the child, so
they include the interpreter's own start-up, as a user launching the app would see it.

- ``startup T0``: the app exactly as a first ``bert-explorer`` start runs it (make_application,
  MainWindow restoring fresh settings, i.e. the embedded model and the default sentences,
  show, exec): first paint, model ready, first result painted.
- ``load T0 FOLDER``: the bare ``AutoTokenizer`` + ``AutoModel.from_pretrained`` (eager) time.
- ``rss FOLDER T``: peak RSS growth of one T-token ``run_inference_with_views`` over
  the loaded-model baseline.
- ``corpus SPEC SEGMENTS RUNS``: corpus mode against a plain batched loop, and its RSS growth
  (explorer.bench.corpus_bench).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

MARKER = "BENCH_JSON "
STARTUP_TIMEOUT_S = 180.0


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(MARKER + json.dumps(payload) + "\n")
    sys.stdout.flush()


def probe_startup(t0: float) -> dict[str, Any]:
    """Start the window like ``run_gui`` does and time its first paint and its model load."""
    import shutil

    from PySide6.QtCore import QEvent, QObject, Qt, QTimer
    from PySide6.QtWidgets import QWidget

    from explorer.bench.common import isolate_settings
    from explorer.gui.app import make_application
    from explorer.gui.windows.main_window import MainWindow

    imported = time.time()
    settings_folder = isolate_settings()
    app = make_application([sys.argv[0]])
    window = MainWindow(source=None, text=None, pair=None, panels_after_load=True)
    marks: dict[str, float] = {"imports_done_s": imported - t0}

    def mark(name: str, at: float | None = None) -> None:
        marks.setdefault(name, time.time() - t0 if at is None else at)
        if {"first_paint_s", "model_ready_s", "first_result_s"} <= marks.keys():
            app.quit()

    watched = [window, *window.findChildren(QWidget)]

    class FirstPaint(QObject):
        """Marks the end of the first paint pass (a zero timer fires once it is flushed).

        The filter then removes itself: every filtered event takes the GIL, which would slow
        the worker's imports and make model_ready_s look worse than the app is.
        """

        seen = False

        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
            if not self.seen and event.type() == QEvent.Type.Paint:
                self.seen = True
                marks["torch_imported_at_first_paint"] = float("torch" in sys.modules)
                QTimer.singleShot(0, self.done)
            return False

        def done(self) -> None:
            mark("first_paint_s")
            for widget in watched:
                widget.removeEventFilter(self)

    watcher = FirstPaint()
    for widget in watched:
        widget.installEventFilter(watcher)
    # Ready is when the worker holds the model: stamped in the worker as it reports it, since
    # the window then builds its panels (panels_after_load) before it hears of the model.
    # With it, the CPU time the GUI thread had used by then, which the load had to share.
    ready_at: list[float] = []
    gui_clock = time.pthread_getcpuclockid(threading.main_thread().ident or 0)

    def stamp_ready(*_: object) -> None:
        ready_at.append(time.time() - t0)
        marks["gui_cpu_before_ready_s"] = time.clock_gettime(gui_clock)

    window.controller._worker.model_loaded.connect(stamp_ready, Qt.ConnectionType.DirectConnection)
    window.controller.model_loaded.connect(lambda _info: mark("panels_ready_s"))
    window.controller.model_loaded.connect(lambda _info: mark("model_ready_s", ready_at[0]))
    window.controller.result_ready.connect(lambda _outcome: mark("first_result_s"))
    window.controller.load_failed.connect(lambda message: marks.setdefault("error", message))
    QTimer.singleShot(int(STARTUP_TIMEOUT_S * 1000), app.quit)
    window.show()
    app.exec()
    window.close()
    shutil.rmtree(settings_folder, ignore_errors=True)
    return marks


def probe_load(t0: float, location: str) -> dict[str, Any]:
    """The floor for model_ready_s: import transformers, load tokenizer and eager model."""
    from transformers import AutoModel, AutoTokenizer

    AutoTokenizer.from_pretrained(location, local_files_only=True)
    AutoModel.from_pretrained(location, attn_implementation="eager", local_files_only=True)
    return {"bare_from_pretrained_s": time.time() - t0}


class RssSampler:
    """Samples this process's resident set size every ``interval`` seconds in a thread."""

    def __init__(self, interval: float = 0.0005) -> None:
        self._interval = interval
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak = self.current()

    def current(self) -> int:
        """Resident bytes right now (Linux /proc, else psutil)."""
        try:
            with open("/proc/self/statm", "rb") as handle:
                return int(handle.read().split()[1]) * self._page
        except OSError:
            import psutil

            return int(psutil.Process().memory_info().rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            time.sleep(self._interval)

    def __enter__(self) -> RssSampler:
        self.peak = self.current()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.current())


def probe_rss(location: str, count: int) -> dict[str, Any]:
    """Peak RSS growth of one inference (+ display views) over the loaded-model baseline.

    One short sentence runs first, as in the app (the window always shows its default
    sentence before anything long), so one-off allocator and thread-pool set-up is baseline.
    """
    import gc

    from explorer.bench.common import sentence_of_length
    from explorer.core.inference import run_inference, run_inference_with_views
    from explorer.core.loading import load_model
    from explorer.core.memory import keep_freed_memory
    from explorer.core.sources import ModelSource

    keep_freed_memory()  # as the app's ModelController does
    loaded = load_model(ModelSource.parse(location))
    run_inference(loaded, sentence_of_length(loaded.tokenizer, 8))
    text = sentence_of_length(loaded.tokenizer, count)
    gc.collect()
    sampler = RssSampler()
    baseline = sampler.current()
    started = time.perf_counter()
    with sampler:
        result, views = run_inference_with_views(loaded, text)
    elapsed = time.perf_counter() - started
    floor = result.num_layers * result.num_heads * count * count * 4
    del views
    return {
        "extra_rss_mb": (sampler.peak - baseline) / 1e6,
        "tensor_floor_mb": floor / 1e6,
        "baseline_rss_mb": baseline / 1e6,
        "inference_and_views_s": elapsed,
    }


def main(argv: list[str]) -> int:
    """Dispatch one probe and print its JSON line."""
    kind, args = argv[0], argv[1:]
    if kind == "startup":
        _emit(probe_startup(float(args[0])))
    elif kind == "load":
        _emit(probe_load(float(args[0]), args[1]))
    elif kind == "rss":
        _emit(probe_rss(args[0], int(args[1])))
    elif kind == "corpus":
        from explorer.bench.corpus_bench import probe_corpus

        _emit(probe_corpus(args[0], int(args[1]), int(args[2])))
    else:
        print(f"unknown probe {kind!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
