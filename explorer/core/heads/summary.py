"""What the head predicted, as a few lines of text (``inspect`` prints them)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from explorer.core.heads.choice import VOCABULARY_KINDS

SHOWN = 5


def prediction_lines(
    result: Any, arrays: Mapping[str, np.ndarray], *, lens_asked: bool = False
) -> list[str]:
    """One line per prediction: the head, each mask's best tokens, labels, the answer, cosine."""
    predictions = result.predictions
    if predictions is None:
        return []
    lines = [f"head: {predictions.head}" + (f" ({predictions.note})" if predictions.note else "")]
    if predictions.masked is not None:
        for row, position in enumerate(predictions.masked.positions):
            best = ", ".join(
                f"{token} {prob:.3f}"
                for token, prob in zip(
                    predictions.masked.tokens[row][:SHOWN],
                    predictions.masked.probs[row][:SHOWN],
                    strict=True,
                )
            )
            lines.append(f"mask at token {int(position)}: {best}")
    if predictions.nsp_probs is not None and result.pair is not None:
        lines.append(f"P(B follows A) = {float(predictions.nsp_probs[0]):.3f}")
    if predictions.class_probs is not None:
        order = np.argsort(-predictions.class_probs)[:SHOWN]
        ranked = ", ".join(
            f"{predictions.labels[i]} {float(predictions.class_probs[i]):.3f}" for i in order
        )
        lines.append(f"labels: {ranked}")
    elif predictions.class_logits is not None:
        lines.append(f"score ({predictions.problem}): {float(predictions.class_logits[0]):.4f}")
    if predictions.answer is not None:
        answer = predictions.answer
        span = f"tokens {answer.start}–{answer.end}"
        lines.append(f"answer: {answer.text!r} ({span}, score {answer.score:.3f})")
    meta = json.loads(str(arrays["meta"])) if "meta" in arrays else {}
    for name, reason in meta.get("not_applicable", {}).items():
        lines.append(f"note: no {name} in the file: {reason}")
    if "pair_cosine" in meta:
        lines.append(f"cosine(A, B) = {meta['pair_cosine']:.4f} ({predictions.pooling})")
    if lens_asked and not (predictions.head in VOCABULARY_KINDS and "lens_top_ids" in arrays):
        lines.append(
            "note: --lens needs a trained masked-LM or next-token head; the file has no lens keys"
        )
    return lines
