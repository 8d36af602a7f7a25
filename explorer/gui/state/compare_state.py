"""The compare window's shared state: two ExplorerStates kept in step, plus the comparison.

Each side is an ordinary ExplorerState, so the ordinary panels show it. ``CompareState`` links
them both ways (layer, head, the lens, and the token through the token alignment) with a
re-entry guard, and holds the worker's ``Comparison``; the difference panels take it in
``__init__``, subscribe, and keep no copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from PySide6.QtCore import QObject, Signal

from explorer.core.compare import Comparison, TokenAlignment, align_results
from explorer.core.compare_models import ModelComparison, SpanAlignment, align_spans, linked_layer
from explorer.core.results import InferenceResult, ModelInfo
from explorer.core.views import DisplayViews
from explorer.gui.state.explorer_state import ExplorerState
from explorer.gui.state.lens_options import LensOptions

SIDES = ("a", "b")
WAITING_FOR_INPUT = "Type a sentence in A and one in B to compare them."

TWO_MODELS_TEXT = (
    "Two models: the cosine and norm-difference views compare two sentences of one model; "
    "the two models' layers are compared by linear CKA (below)."
)
Side = tuple[InferenceResult, DisplayViews] | None  # a side's result and views, or nothing


class CompareState(QObject):
    """Sides A and B, linked both ways; the comparison of their results."""

    results_changed = Signal()
    """Both sides were replaced together (either may now be empty)."""
    selection_changed = Signal()
    """Token, layer or head changed; both sides are already in step."""
    lens_changed = Signal()
    """The lens or head pooling changed; both sides are already in step."""
    comparison_changed = Signal()
    """The comparison arrived, or the reason there is none changed."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.a = ExplorerState(self)
        self.b = ExplorerState(self)
        self.lens_a = self.a.lens
        self.lens_b = self.b.lens
        self._alignment: TokenAlignment | None = None
        self._comparison: Comparison | None = None
        # Two models on one text: tokens link by character spans, layers by relative depth.
        self._spans: SpanAlignment | None = None
        self._model_comparison: ModelComparison | None = None
        self._message = WAITING_FOR_INPUT
        self._syncing = False
        for side, state in zip(SIDES, (self.a, self.b), strict=True):
            state.token_changed.connect(self._on_a_token if side == "a" else self._on_b_token)
            state.layer_changed.connect(partial(self._on_layer_changed, side))
            state.head_changed.connect(self._on_head_changed)
        self.lens_a.changed.connect(self._on_lens_a_changed)
        self.lens_b.changed.connect(self._on_lens_b_changed)

    # --- read side ---------------------------------------------------------------------
    def side(self, name: str) -> ExplorerState:
        """The state of side ``'a'`` or ``'b'``."""
        return self.a if name == "a" else self.b

    @property
    def alignment(self) -> TokenAlignment | None:
        """How A's tokens pair with B's (None unless both sides have a result)."""
        return self._alignment

    @property
    def comparison(self) -> Comparison | None:
        """The worker's comparison of the two results on show, or None."""
        return self._comparison

    @property
    def message(self) -> str:
        """Why there is no comparison ('' when there is one)."""
        return "" if self._comparison is not None else self._message

    @property
    def two_models(self) -> bool:
        """The sides show two models' results (one text), not two sentences of one model."""
        a, b = self.a.result, self.b.result
        return a is not None and b is not None and a.model != b.model

    @property
    def model_comparison(self) -> ModelComparison | None:
        """The worker's comparison of two models on one text (layer CKA, spans), or None."""
        return self._model_comparison

    def two_models_note(self) -> str:
        """Why two models' attention maps are not subtracted ('' when they can be)."""
        a, b = self.a.result, self.b.result
        if not self.two_models or a is None or b is None:
            return ""
        if self._spans is not None and self._spans.method != "identical tokenization":
            return (
                f"No attention difference: {a.model.model_type} and {b.model.model_type} cut "
                "the text into different tokens, so their maps have no cell-by-cell "
                "counterparts. Compare the two sides' maps, and the layers by CKA below."
            )
        if (a.num_layers, a.num_heads) != (b.num_layers, b.num_heads):
            return (
                f"No attention difference: A has {a.num_layers} layers × {a.num_heads} heads "
                f"and B {b.num_layers} × {b.num_heads}; layers are linked by relative depth."
            )
        return ""

    def linked_layer(self, layer: int, side: str) -> int:
        """The other side's layer at the depth of ``layer`` of ``side`` (relative when deeper)."""
        mine, other = (self.a, self.b) if side == "a" else (self.b, self.a)
        if self.two_models and mine.num_layers != other.num_layers:
            return linked_layer(layer, mine.num_layers, other.num_layers)
        return layer

    def partner(self, token: int, side: str) -> int:
        """The other side's token to select with ``token`` of ``side`` (its counterpart)."""
        if token < 0:
            return -1
        if self._spans is not None:
            return self._spans.counterpart(token, side)
        if self._alignment is None:
            return token
        return self._alignment.counterpart(token, side)

    # --- write side --------------------------------------------------------------------
    def set_model_info(self, info: ModelInfo | None, info_b: ModelInfo | None = None) -> None:
        """Both sides run on the same model, or B on ``info_b`` (two models on one text)."""
        self.a.set_model_info(info)
        self.b.set_model_info(info_b or info)

    def set_results(self, side_a: Side, side_b: Side, message: str = "") -> None:
        """Show both sides at once; the comparison waits for the worker (``message`` says why).

        Setting both before any compare signal means no difference view ever mixes a new A
        with an old B.
        """
        with self._linking():
            self.a.set_result(*(side_a or (None, None)))
            self.b.set_result(*(side_b or (None, None)))
            result_a, result_b = self.a.result, self.b.result
            both = result_a is not None and result_b is not None
            self._alignment = self._spans = None
            if result_a is not None and result_b is not None:
                self._alignment = align_results(result_a, result_b)
                if result_a.model != result_b.model:
                    self._spans = align_spans(result_a, result_b)
            self._comparison = self._model_comparison = None
            self._message = message or WAITING_FOR_INPUT
            if both:
                self.b.set_layer(self.linked_layer(self.a.layer, "a"))
                self.b.set_head(self.a.head)
                self.b.set_token(self.partner(self.a.token, "a"))
        self.results_changed.emit()
        self.comparison_changed.emit()

    def set_comparison(self, comparison: Comparison) -> None:
        """Accept the worker's comparison if it is of the two results on show."""
        if comparison.a is not self.a.result or comparison.b is not self.b.result:
            return
        self._comparison = comparison
        self.comparison_changed.emit()

    def set_model_comparison(self, comparison: ModelComparison) -> None:
        """Accept the worker's two-model comparison if it is of the two results on show."""
        if comparison.a is not self.a.result or comparison.b is not self.b.result:
            return
        self._model_comparison = comparison
        self._message = TWO_MODELS_TEXT
        self.comparison_changed.emit()

    def set_message(self, message: str) -> None:
        """No comparison for now, and why (computing, a failure, an empty side)."""
        self._comparison = None
        self._message = message
        self.comparison_changed.emit()

    def set_layers(self, layer_a: int, layer_b: int) -> None:
        """Select a layer on each side at once (a cell of the two models' CKA map)."""
        with self._linking():
            self.a.set_layer(layer_a)
            self.b.set_layer(layer_b)
        self.selection_changed.emit()

    def select_token(self, token: int, side: str = "a") -> None:
        """Select ``token`` of ``side``; the other side follows through the alignment."""
        self.side(side).set_token(token)

    # --- the link (re-entry guarded) ----------------------------------------------------
    @contextmanager
    def _linking(self) -> Iterator[None]:
        """While one side's change is copied to the other, the other's echo is ignored."""
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = False

    def _on_a_token(self, token: int) -> None:
        if self._syncing:
            return
        with self._linking():
            self.b.set_token(self.partner(token, "a"))
        self.selection_changed.emit()

    def _on_b_token(self, token: int) -> None:
        if self._syncing:
            return
        with self._linking():
            self.a.set_token(self.partner(token, "b"))
        self.selection_changed.emit()

    def _on_layer_changed(self, side: str, layer: int) -> None:
        if self._syncing:
            return
        with self._linking():
            self.side("b" if side == "a" else "a").set_layer(self.linked_layer(layer, side))
        self.selection_changed.emit()

    def _on_head_changed(self, head: int) -> None:
        if self._syncing:
            return
        with self._linking():
            self.a.set_head(head)
            self.b.set_head(head)
        self.selection_changed.emit()

    def _on_lens_a_changed(self) -> None:
        if self._syncing:
            return
        with self._linking():
            _copy_lens(self.lens_a, self.lens_b)
        self.lens_changed.emit()

    def _on_lens_b_changed(self) -> None:
        if self._syncing:
            return
        with self._linking():
            _copy_lens(self.lens_b, self.lens_a)
        self.lens_changed.emit()


def _copy_lens(source: LensOptions, target: LensOptions) -> None:
    settings = source.settings
    target.set_block(settings.block)
    target.set_words(settings.words)
    target.set_hide_special(settings.hide_special)
    target.set_head_pool(source.head_pool)
    target.set_mean_layers(source.mean_layers)
