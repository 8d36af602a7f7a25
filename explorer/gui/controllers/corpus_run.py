"""Runs ``bert-explorer corpus`` in a child process and reports its progress.

A corpus takes minutes to hours: it runs in its own process, not on the window's worker (whose
one thread must stay free for the sentences being typed), with the very command a user runs
in a terminal. Its progress lines on stderr drive the progress bar; cancelling sends SIGTERM,
on which the command checkpoints between batches, so running it again resumes. Nothing here
waits for the child: the window stays responsive while a cancelled run writes its checkpoint.

The command's messages name its options as a terminal user types them (``--out``, ``--js``);
``for_the_window`` names them as the Corpus window's form does.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

PROGRESS_LINE = re.compile(
    r"(?P<done>\d+)/(?P<total>\d+) segments · (?P<rate>[\d.]+) segments/s · (?P<left>\S+) left"
)
# The command's words for its options, and the form's (the window user never sees a flag).
WINDOW_WORDS = (
    (re.compile(r"Run the same command again to resume"), "Press Run again to resume"),
    (
        re.compile(r"Delete it to start afresh, or give another --out"),
        "Start afresh deletes it; or choose another Output",
    ),
    (re.compile(r"give another --out"), "choose another Output"),
    (re.compile(r"the file its --out names"), "the file its Output names"),
    (re.compile(r"--out\b"), "Output"),
    (re.compile(r"--max-length\b"), "Max length"),
    (re.compile(r"--batch-size\b"), "Batch size"),
    (re.compile(r"--js\b"), "Jensen–Shannon"),
    (re.compile(r"\blayer_self_similarity is NaN"), "there is no per-layer self-similarity"),
)
REFUSED_RESUME = "Cannot resume from the checkpoint "


def for_the_window(text: str) -> str:
    """A message of the command, its options named as the form labels them."""
    for pattern, words in WINDOW_WORDS:
        text = pattern.sub(words, text)
    return text


@dataclass(frozen=True)
class CorpusRequest:
    """What to run: the command line's options."""

    corpus: Path
    out: Path
    model: str
    max_length: int = 128
    batch_size: int = 16
    js: bool = False

    def arguments(self) -> list[str]:
        """``python -m explorer corpus …`` arguments."""
        args = ["-m", "explorer", "corpus", str(self.corpus), "--model", self.model]
        args += ["--max-length", str(self.max_length), "--batch-size", str(self.batch_size)]
        return [*args, *(["--js"] if self.js else []), "--out", str(self.out)]


class CorpusRunner(QObject):
    """One child process at a time; its outcome is one of three signals."""

    progress_changed = Signal(int, int, float, str)
    """Segments done, segments in all (about), segments per second, time left (h:mm:ss)."""
    finished = Signal(str)
    """The run wrote its output: the path."""
    failed = Signal(str)
    """The run stopped with an error: the command's message."""
    cancelled = Signal(str)
    """The run was cancelled: where its checkpoint is, to resume."""
    ended = Signal()
    """The child is gone, after ``finished``, ``failed`` or ``cancelled``."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._process: QProcess | None = None
        self._request: CorpusRequest | None = None
        self._stderr = ""
        self._stdout = ""
        self._cancelling = False

    @property
    def notes(self) -> list[str]:
        """The last run's ``note:`` and ``warning:`` lines (truncation, tabs, [UNK], …)."""
        return [
            for_the_window(line)
            for line in self._stdout.splitlines()
            if line.startswith(("note: ", "warning: "))
        ]

    @property
    def running(self) -> bool:
        """A run is under way."""
        return self._process is not None

    @property
    def stopping(self) -> bool:
        """A run is under way and was asked to stop."""
        return self._process is not None and self._cancelling

    def start(self, request: CorpusRequest) -> None:
        """Start a run (nothing if one is under way)."""
        if self._process is not None:
            return
        process = QProcess(self)
        process.readyReadStandardError.connect(self._on_stderr_ready)
        process.readyReadStandardOutput.connect(self._on_stdout_ready)
        process.finished.connect(self._on_process_finished)
        process.errorOccurred.connect(self._on_process_error)
        self._process, self._request, self._stderr = process, request, ""
        self._stdout = ""
        self._cancelling = False
        process.start(sys.executable, request.arguments())

    def cancel(self) -> None:
        """Ask the run to stop after its batch (it checkpoints; the same run resumes)."""
        if self._process is not None:
            self._cancelling = True
            self._process.terminate()

    def kill_after(self, milliseconds: int) -> None:
        """Kill the child if it is still there after ``milliseconds`` (no checkpoint then)."""
        process = self._process
        if process is not None:
            QTimer.singleShot(milliseconds, process, process.kill)

    def _on_stderr_ready(self) -> None:
        assert self._process is not None
        text = bytes(self._process.readAllStandardError().data()).decode("utf-8", "replace")
        self._stderr += text
        for match in PROGRESS_LINE.finditer(text):
            self.progress_changed.emit(
                int(match["done"]), int(match["total"]), float(match["rate"]), match["left"]
            )

    def _on_stdout_ready(self) -> None:
        assert self._process is not None
        self._stdout += bytes(self._process.readAllStandardOutput().data()).decode(
            "utf-8", "replace"
        )

    def _message(self) -> str:
        lines = [line for line in self._stderr.splitlines() if not PROGRESS_LINE.search(line)]
        for line in reversed(lines):
            if line.startswith(("error:", "cancelled:")):
                return for_the_window(line.partition(": ")[2])
        return (
            for_the_window(lines[-1]) if lines else "the corpus command stopped without a message"
        )

    def _on_process_finished(self, code: int, _status: object) -> None:
        if self._process is not None:
            self._on_stderr_ready()  # what came after the last readyRead
            self._on_stdout_ready()
        request, cancelling = self._request, self._cancelling
        self._end()
        if code == 0 and request is not None:
            self.finished.emit(str(request.out))
        elif cancelling:
            self.cancelled.emit(self._message())
        else:
            self.failed.emit(self._message())
        self.ended.emit()

    def _on_process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._end()
            self.failed.emit(f"could not start {sys.executable}")
            self.ended.emit()

    def _end(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.deleteLater()
