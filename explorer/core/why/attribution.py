"""Which input tokens, and which heads, a target F rests on.

One forward and backward pass at the input gives the gradient with respect to the word
embeddings (gradient norm, gradient × input), to every layer's attention weights (Chefer et
al. 2021's relevance) and to the head gates ξ (Michel et al. 2019's importance |∂F/∂ξ_h|).
Integrated gradients then take m more points on the straight path from a zero baseline to
the word embeddings, batched. The path integral is taken with Gauss–Legendre nodes (as
Captum does by default): for the smooth F of a transformer its error at m = 32 is far below
a Riemann sum's, and the completeness error reported beside the result says how far.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.core.progress import report_progress
from explorer.core.why.gates import Head, check_heads, gate_tensor, gated, head_label
from explorer.core.why.targets import Target, TargetError, choose_target, word_embeddings

DEFAULT_STEPS = 32
IG_CHUNK_BYTES = 256 * 1024 * 1024
METHODS = ("grad_norm", "grad_input", "integrated_gradients", "relevance")
EXPLAIN = "why_explain"

Progress = Callable[[int, int], None]
"""(steps done, steps in all): called after the gradient pass and after each IG chunk."""


@dataclass(frozen=True, eq=False)
class GradientPass:
    """What one forward and backward pass at the input gives (numpy, float32)."""

    value: float  # F(x)
    gradient: np.ndarray  # (T, D) ∂F/∂e
    embeddings: np.ndarray  # (T, D) e, the word embeddings
    relevance: np.ndarray  # (T, T) Chefer's R
    head_importance: np.ndarray  # (L, H) |∂F/∂ξ|


@dataclass(frozen=True, eq=False)
class Explanation:
    """Every attribution of one target; arrays float32, T the tokens of the sequence."""

    target: str
    target_value: float
    baseline_value: float | None  # F at the zero baseline (None without integrated gradients)
    tokens: np.ndarray  # (T,) str
    input_ids: np.ndarray  # (T,) int64
    grad_norm: np.ndarray  # (T,)
    grad_input: np.ndarray  # (T,)
    integrated_gradients: np.ndarray | None  # (T,)
    relevance: np.ndarray  # (T, T)
    head_importance: np.ndarray  # (L, H)
    ig_steps: int
    ig_completeness_error: float | None
    knocked_out: tuple[Head, ...] = ()

    def meta(self) -> dict[str, Any]:
        """The npz's ``meta`` (JSON-able)."""
        return {
            "target": self.target,
            "target_value": self.target_value,
            "baseline_value": self.baseline_value,
            "ig_steps": self.ig_steps,
            "ig_completeness_error": self.ig_completeness_error,
            "knocked_out": [head_label(head) for head in self.knocked_out],
        }

    def arrays(self) -> dict[str, np.ndarray]:
        """The npz keys of ``bert-explorer explain`` (``meta`` as a JSON string)."""
        import json

        arrays = {
            "grad_norm": self.grad_norm,
            "grad_input": self.grad_input,
            "relevance": self.relevance,
            "head_importance": self.head_importance,
            "tokens": np.asarray(self.tokens, dtype=str),
            "input_ids": self.input_ids.astype(np.int64, copy=False),
            "meta": np.asarray(json.dumps(self.meta(), ensure_ascii=False)),
        }
        if self.integrated_gradients is not None:
            arrays["integrated_gradients"] = self.integrated_gradients
        return arrays


def relevance_from(weights: Sequence[Any], gradients: Sequence[Any]) -> np.ndarray:
    """Chefer's R: R = I, then R ← R + Ā_l R for l = 1…L, Ā_l = mean_h (∇A_l ⊙ A_l)⁺.

    ``weights`` and ``gradients`` are per layer (H, T, T) arrays or tensors (a leading batch
    axis of 1 is dropped). A missing gradient (None) counts as zero.
    """
    import torch

    count = int(np.shape(weights[0])[-1]) if weights else 0
    relevance = torch.eye(count, dtype=torch.float64)
    for attention, gradient in zip(weights, gradients, strict=True):
        if gradient is None:
            continue
        a = torch.as_tensor(np.asarray(_numpy(attention)), dtype=torch.float64).reshape(
            -1, count, count
        )
        g = torch.as_tensor(np.asarray(_numpy(gradient)), dtype=torch.float64).reshape(
            -1, count, count
        )
        mean = (g * a).clamp(min=0).mean(dim=0)
        relevance = relevance + mean @ relevance
    return relevance.numpy().astype(np.float32)


def _numpy(value: Any) -> Any:
    return value.detach().cpu().numpy() if hasattr(value, "detach") else value


def gradient_pass(loaded: Any, target: Target, knocked_out: Iterable[Head] = ()) -> GradientPass:
    """F(x) and its gradients to the word embeddings, the attention weights and the gates."""
    import torch

    info = loaded.info
    gates = gate_tensor(info.num_layers, info.num_heads, knocked_out).requires_grad_(True)
    embeds = word_embeddings(loaded, target.input_ids).requires_grad_(True)
    with torch.enable_grad(), gated(loaded, gates, record=True) as hook:
        value = target(embeds)[0]
        grads = torch.autograd.grad(value, [embeds, gates, *hook.weights], allow_unused=True)
    embed_grad, gate_grad, weight_grads = grads[0], grads[1], grads[2:]
    zero = torch.zeros_like
    return GradientPass(
        value=float(value.detach()),
        gradient=(embed_grad if embed_grad is not None else zero(embeds))[0].numpy(),
        embeddings=embeds.detach()[0].numpy(),
        relevance=relevance_from(
            [w[0] for w in hook.weights], [g[0] if g is not None else None for g in weight_grads]
        ),
        head_importance=(gate_grad if gate_grad is not None else zero(gates)).abs().numpy(),
    )


def _chunk_size(loaded: Any, count: int, steps: int) -> int:
    """IG points per batch, so the saved activations stay within IG_CHUNK_BYTES."""
    info = loaded.info
    per_point = (
        4 * info.num_layers * (4 * info.num_heads * count * count + 16 * count * info.hidden_size)
    )
    return max(1, min(steps, IG_CHUNK_BYTES // max(per_point, 1)))


def integrated_gradients(
    loaded: Any,
    target: Target,
    steps: int = DEFAULT_STEPS,
    knocked_out: Iterable[Head] = (),
    progress: Progress | None = None,
) -> tuple[np.ndarray, float]:
    """((T,) IG_t = Σ_d e_td ∫₀¹ ∂F/∂e_td(α e) dα, F(baseline)), the integral on m nodes."""
    import torch

    heads = tuple(knocked_out)
    info = loaded.info
    embeds = word_embeddings(loaded, target.input_ids)  # (1, T, D)
    nodes, node_weights = np.polynomial.legendre.leggauss(steps)
    alphas = torch.from_numpy((nodes + 1.0) / 2.0).float()
    weights = torch.from_numpy(node_weights / 2.0).float()
    total = torch.zeros_like(embeds[0])
    chunk = _chunk_size(loaded, embeds.shape[1], steps)
    gates = gate_tensor(info.num_layers, info.num_heads, heads)
    for start in range(0, steps, chunk):
        stop = min(start + chunk, steps)
        points = (alphas[start:stop].view(-1, 1, 1) * embeds).requires_grad_(True)
        with torch.enable_grad(), _maybe_gated(loaded, gates, heads):
            values = target(points)
            (grad,) = torch.autograd.grad(values.sum(), [points])
        total += (weights[start:stop].view(-1, 1, 1) * grad).sum(dim=0)
        if progress is not None:
            progress(1 + stop, 1 + steps)
    with torch.no_grad(), _maybe_gated(loaded, gates, heads):
        baseline = float(target(torch.zeros_like(embeds))[0])
    return (total * embeds[0]).sum(dim=-1).numpy().astype(np.float32), baseline


def _maybe_gated(loaded: Any, gates: Any, heads: tuple[Head, ...]) -> Any:
    """The gates when heads are knocked out; otherwise the ungated attention, untouched."""
    from contextlib import nullcontext

    return gated(loaded, gates) if heads else nullcontext()


def explain(
    loaded: Any,
    text: str,
    pair: str | None = None,
    target: str = "",
    steps: int = DEFAULT_STEPS,
    knocked_out: Iterable[Head] = (),
    *,
    integrated: bool = True,
    progress: Progress | None = None,
) -> Explanation:
    """Every attribution of ``target`` (see targets.TARGET_HELP; default: the table's row)."""
    from explorer.core.why.gates import knocked_out_heads

    heads = check_heads(loaded.info.num_layers, loaded.info.num_heads, knocked_out)
    progress = progress or report_progress  # the worker's progress bar, when it runs this
    if steps < 1:
        raise ValueError("Integrated gradients need at least one step.")
    with knocked_out_heads(loaded, heads):
        chosen = choose_target(loaded, text, pair, target)
    first = gradient_pass(loaded, chosen, heads)
    if progress is not None:
        progress(1, 1 + steps if integrated else 1)
    ig: np.ndarray | None = None
    baseline = error = None
    if integrated:
        ig, baseline = integrated_gradients(loaded, chosen, steps, heads, progress)
        error = abs(float(ig.astype(np.float64).sum()) - (first.value - baseline))
    gradient = first.gradient
    return Explanation(
        target=chosen.description,
        target_value=first.value,
        baseline_value=baseline,
        tokens=chosen.tokens,
        input_ids=chosen.input_ids,
        grad_norm=np.linalg.norm(gradient, axis=-1).astype(np.float32),
        grad_input=(gradient * first.embeddings).sum(axis=-1).astype(np.float32),
        integrated_gradients=ig,
        relevance=first.relevance,
        head_importance=first.head_importance.astype(np.float32),
        ig_steps=steps if integrated else 0,
        ig_completeness_error=error,
        knocked_out=heads,
    )


def explain_analysis(loaded: Any, result: Any, params: Mapping[str, Any]) -> Explanation:
    """The worker's entry: the result's own text, pair and knock-outs; ``target``, ``steps``.

    ``integrated`` False skips integrated gradients (the head-importance grid needs one pass).
    """
    if loaded is None or loaded.info != result.model:
        raise TargetError(
            "The model that computed this result is no longer loaded: run the sentence again."
        )
    return explain(
        loaded,
        result.text,
        result.pair,
        str(params.get("target", "")),
        int(params.get("steps", DEFAULT_STEPS)),
        result.knocked_out,
        integrated=bool(params.get("integrated", True)),
    )


HEAD_IMPORTANCE = "why_head_importance"


def head_importance_analysis(loaded: Any, result: Any, params: Mapping[str, Any]) -> Explanation:
    """The worker's entry for the importance grid: one gradient pass, no integrated gradients."""
    return explain_analysis(loaded, result, {**params, "integrated": False})
