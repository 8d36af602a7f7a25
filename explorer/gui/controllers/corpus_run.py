"""Runs ``bert-explorer corpus`` in a child process and reports its progress.

A corpus takes minutes to hours: it runs in its own process, not on the window's worker (whose
one thread must stay free for the sentences being typed), with the very command a user runs
in a terminal. Its progress lines on stderr drive the progress bar; cancelling sends SIGTERM,
on which the command checkpoints between batches, so running it again resumes.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, Signal

PROGRESS_LINE = re.compile(
    r"(?P<done>\d+)/(?P<total>\d+) segments · (?P<rate>[\d.]+) segments/s · (?P<left>\S+) left"
)
STOP_WAIT_MS = 10_000  # a cancelled run finishes its batch and writes its checkpoint


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
            line for line in self._stdout.splitlines() if line.startswith(("note: ", "warning: "))
        ]

    @property
    def running(self) -> bool:
        """A run is under way."""
        return self._process is not None

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

    def stop_and_wait(self) -> None:
        """Cancel and wait for the process (a closing window leaves no child behind)."""
        process = self._process
        if process is None:
            return
        self.cancel()
        if not process.waitForFinished(STOP_WAIT_MS):
            process.kill()
            process.waitForFinished(STOP_WAIT_MS)

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
                return line.partition(": ")[2]
        return lines[-1] if lines else "the corpus command stopped without a message"

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

    def _on_process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._end()
            self.failed.emit(f"could not start {sys.executable}")

    def _end(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.deleteLater()
