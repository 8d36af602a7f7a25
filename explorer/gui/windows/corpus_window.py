"""The Corpus window (File → Analyse a corpus…): run a corpus, or open a finished one, and look.

Layout and wiring only: the run is a ``CorpusRunner`` (a child process with the headless
command), the figures a ``CorpusView`` on the main window's state, so a head clicked here is
selected in the main window. Closing the window only hides it: a run goes on, and the menu
entry shows the same window, with its progress, again (the main window stops the run when it
closes itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.core.corpus.files import (
    CorpusFileError,
    checkpoint_path,
    read_corpus_arrays,
)
from explorer.core.wording import counted
from explorer.gui.controllers.corpus_run import REFUSED_RESUME, CorpusRequest, CorpusRunner
from explorer.gui.panels.analysis.common import wrapped_label
from explorer.gui.panels.corpus.view import PLACEHOLDER, CorpusView, model_details, model_name
from explorer.gui.state.explorer_state import ExplorerState
from explorer.resources import resource_path


class CorpusWindow(QMainWindow):
    """Options, a Run / Cancel pair with a progress bar, and the figures of the result."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Corpus statistics")
        self._state = state
        self.runner = CorpusRunner(self)
        self.corpus_edit = QLineEdit(str(resource_path("demo_corpus.txt")))
        self.out_edit = QLineEdit(str(Path.home() / "corpus-stats.npz"))
        browse_corpus = QPushButton("Browse…")
        browse_out = QPushButton("Browse…")
        self.max_length = QSpinBox()
        self.max_length.setRange(8, 4096)
        self.max_length.setValue(128)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 1024)
        self.batch_size.setValue(16)
        self.js_box = QCheckBox("Jensen–Shannon between heads (the map of heads; slower)")
        self.model_label = QLabel()  # Run uses the main window's model; results name theirs
        self.model_label.setTextInteractionFlags(
            self.model_label.textInteractionFlags() | Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.open_button = QPushButton("Open results…")
        self.afresh_button = QPushButton("Start afresh")  # when a checkpoint refused to resume
        self.afresh_button.setToolTip(
            "Delete the checkpoint of the other run and run from the start"
        )
        self.afresh_button.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m segments")
        self.status = wrapped_label(
            "One segment a line (a tab splits a pair). Cancel keeps a checkpoint: Run resumes."
        )
        self.view = CorpusView(state)

        form = QFormLayout()
        form.addRow("Corpus file", _row(self.corpus_edit, browse_corpus))
        form.addRow("Output", _row(self.out_edit, browse_out))
        form.addRow("Model", self.model_label)
        form.addRow("Max length", self.max_length)
        form.addRow("Batch size", self.batch_size)
        form.addRow("", self.js_box)
        buttons = _row(
            self.run_button, self.cancel_button, self.afresh_button, self.open_button, self.progress
        )
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addLayout(form)
        layout.addWidget(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.view, 1)
        self.setCentralWidget(body)
        self.resize(1000, 820)

        browse_corpus.clicked.connect(self._browse_corpus)
        browse_out.clicked.connect(self._browse_out)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.open_button.clicked.connect(self._browse_results)
        self.afresh_button.clicked.connect(self._start_afresh)
        self.runner.progress_changed.connect(self._on_runner_progress_changed)
        self.runner.finished.connect(self._on_runner_finished)
        self.runner.failed.connect(self._on_runner_failed)
        self.runner.cancelled.connect(self._on_runner_cancelled)
        state.model_changed.connect(self._describe_model)
        self._describe_model()

    def request(self) -> CorpusRequest:
        """The run the form describes, on the main window's model."""
        info = self._state.model_info
        return CorpusRequest(
            corpus=Path(self.corpus_edit.text()),
            out=Path(self.out_edit.text()),
            model=info.source if info is not None else "embedded",
            max_length=self.max_length.value(),
            batch_size=self.batch_size.value(),
            js=self.js_box.isChecked(),
        )

    def run(self) -> None:
        """Start (or resume) the run the form describes."""
        self._set_running(True)
        self.afresh_button.setVisible(False)
        self.status.setText("Loading the model and reading the corpus …")
        self.progress.setRange(0, 0)  # busy, not the last run's count, until the first line
        if self.view.body.shows_message:  # an output on show stays until the new one is ready
            self.view.body.show_message("Running … the figures appear when the run ends.")
        self.runner.start(self.request())

    def open_results(self, path: Path) -> None:
        """Show a corpus output file (all but its word table, which can be gigabytes).

        The command's own check of its files says what a foreign or damaged file is.
        """
        try:
            arrays = read_corpus_arrays(path)  # read once, checked as the command checks
            self.view.show_arrays(arrays)
        except CorpusFileError as err:
            self.status.setText(str(err))
            return
        except (ValueError, KeyError) as err:  # checked, but not what the view expects
            self.status.setText(f"{path} is damaged or incomplete ({err}).")
            return
        self._fill_form(path, self.view.meta)
        self.status.setText(f"Showing {path}")

    def _fill_form(self, path: Path, meta: Mapping[str, Any]) -> None:
        """Make the form describe the run whose results are on show (Run would redo it).

        The file names its corpus without a folder: a corpus of that name beside the results
        or already in the form is taken; otherwise the form shows the bare name.
        """
        self.out_edit.setText(str(path))
        corpus = meta.get("corpus")
        if isinstance(corpus, str) and corpus:
            typed = Path(self.corpus_edit.text())
            beside = path.parent / corpus
            if typed.name == corpus and typed.is_file():
                found = typed
            elif beside.is_file():
                found = beside
            else:
                found = Path(corpus)
            self.corpus_edit.setText(str(found))
        for box, key in ((self.max_length, "max_length"), (self.batch_size, "batch_size")):
            value = meta.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                box.setValue(value)
        if isinstance(meta.get("js"), bool):
            self.js_box.setChecked(meta["js"])
        self._describe_model()

    def _describe_model(self) -> None:
        """Name the model of the results on show and the one Run would use, when they differ."""
        info = self._state.model_info
        run_model = None
        if info is not None:
            keys = (
                "source",
                "name_or_path",
                "model_type",
                "num_layers",
                "num_heads",
                "hidden_size",
            )
            run_model = {key: getattr(info, key) for key in keys}
        shown = self.view.meta.get("model")
        if not isinstance(shown, Mapping):
            text = model_name(run_model) if run_model is not None else "the main window's model"
            tip = model_details(run_model)
        elif run_model is None or shown.get("source") == run_model["source"]:
            text, tip = f"{model_name(shown)} (these results)", model_details(shown)
        else:
            text = (
                f"{model_name(shown)} (these results) · Run uses the main window's "
                f"{model_name(run_model)}"
            )
            tip = model_details(shown)
        self.model_label.setText(text)
        self.model_label.setToolTip(tip)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def _on_runner_progress_changed(self, done: int, total: int, rate: float, left: str) -> None:
        self.progress.setMaximum(max(total, done))
        self.progress.setValue(done)
        self.progress.setFormat(f"%v / {counted(max(total, done), 'segment')}")
        self.status.setText(f"{rate:.1f} segments/s · {left} left")

    def _on_runner_finished(self, path: str) -> None:
        self._set_running(False)
        self.open_results(Path(path))
        notes = self.runner.notes  # what the command told a terminal user
        if notes:
            self.status.setText("\n".join([self.status.text(), *notes]))

    def _on_runner_failed(self, message: str) -> None:
        self._set_running(False)
        self.progress.setRange(0, 1)
        self.progress.reset()  # an empty bar: the last run's "60 / 60" would say it finished
        self.status.setText(f"The run failed: {message}")
        self.afresh_button.setVisible(message.startswith(REFUSED_RESUME))
        self._no_run_on_show()

    def _on_runner_cancelled(self, message: str) -> None:
        self._set_running(False)
        self.status.setText(message)
        self._no_run_on_show()

    def _no_run_on_show(self) -> None:
        """After a run that wrote nothing, the figures say what they said before it."""
        if self.view.body.shows_message:
            self.view.body.show_message(PLACEHOLDER)

    def _start_afresh(self) -> None:
        """Delete the checkpoint that refused to resume (after asking) and run again."""
        checkpoint = checkpoint_path(self.request().out)
        answer = QMessageBox.question(
            self,
            "Start afresh",
            f"Delete the checkpoint {checkpoint} (the partial sums of another run) and run "
            "from the start?",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            checkpoint.unlink(missing_ok=True)
        except OSError as err:
            self.status.setText(f"Could not delete {checkpoint}: {err.strerror or err}.")
            return
        self.run()

    def _browse_corpus(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Corpus file", self.corpus_edit.text())
        if path:
            self.corpus_edit.setText(path)

    def _browse_out(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Output", self.out_edit.text(), "npz files (*.npz)"
        )
        if path:
            self.out_edit.setText(path)

    def _browse_results(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Corpus output", self.out_edit.text(), "npz files (*.npz)"
        )
        if path:
            self.open_results(Path(path))


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, QLineEdit | QProgressBar) else 0)
    return row
