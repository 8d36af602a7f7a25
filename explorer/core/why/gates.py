"""Head gates ξ (Michel et al. 2019): one number per layer and head, on each head's output.

The gate multiplies head h's output Σ_j α_ij v_j before the output projection W_O, inside
the explorer's own attention (explorer.core.capture): transformers 5 accepts ``head_mask``
and ignores it. ξ = 1 everywhere is the model itself (a multiplication by 1.0 is exact),
ξ_h = 0 knocks head h out, and |∂F/∂ξ_h| at ξ = 1 is the head's importance for a target F.

Layers are counted by call, as the capture counts them: a shared layer (ALBERT) is one
module called at every depth, and a pass over a batch calls each depth once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from explorer.core.capture import IN_PLACE_ATTENTION, head_outputs_through
from explorer.core.errors import ExplorerError

Head = tuple[int, int]
"""(layer, head), both counted from 0 in the core (the window and the CLI show them from 1)."""


class GatesUnavailableError(ExplorerError):
    """The model's attention is not the explorer's own, so heads cannot be gated."""


class KnockOutSpecError(ExplorerError):
    """A ``L:H`` knock-out spec that does not name a head of the model."""


class HeadGates:
    """The hook that multiplies each head's output by its gate, layer by layer.

    ``gates`` is an (L, H) torch tensor (it may require a gradient). With ``record``, each
    layer's attention weights are kept (for Chefer's relevance, which needs ∂F/∂A).
    """

    def __init__(self, gates: Any, modules: Iterable[Any], *, record: bool = False) -> None:
        self.gates = gates
        self._module_ids = {id(module) for module in modules}
        self._record = record
        self.calls = 0
        self.weights: list[Any] = []

    def __call__(self, module: Any, weights: Any, output: Any) -> Any:
        """Gate one layer's per-head output (B, H, T, d); other modules pass unchanged."""
        if id(module) not in self._module_ids:
            return output
        layer = self.calls % self.gates.shape[0]
        self.calls += 1
        if self._record:
            self.weights.append(weights)
        gate = self.gates[layer].to(output.dtype)
        return output * gate.view(1, -1, 1, 1)


def attention_modules(loaded: Any) -> list[Any]:
    """The encoder's attention modules the explorer's attention is called with."""
    from explorer.core.inference import _recorded_modules

    return _recorded_modules(loaded.model, "attentions")


def _require_own_attention(loaded: Any) -> list[Any]:
    modules = attention_modules(loaded)
    implementation = getattr(loaded.model.config, "_attn_implementation", None)
    if implementation != IN_PLACE_ATTENTION or not modules:
        raise GatesUnavailableError(
            f"Heads of this {loaded.info.model_type} model cannot be switched off or weighed: "
            "its attention does not run through the explorer's own attention function "
            "(transformers ignores head_mask)."
        )
    return modules


@contextmanager
def gated(loaded: Any, gates: Any, *, record: bool = False) -> Iterator[HeadGates]:
    """Every forward pass of ``loaded`` in this block runs with ``gates`` on its heads.

    Raises GatesUnavailableError when a pass did not go through the gates at every depth
    (then a knock-out would silently have done nothing).
    """
    hook = HeadGates(gates, _require_own_attention(loaded), record=record)
    with head_outputs_through(hook):
        yield hook
    layers = int(gates.shape[0])
    if hook.calls % layers != 0:
        raise GatesUnavailableError(
            f"The gates were applied at {hook.calls} attention calls, not a multiple of the "
            f"model's {layers} layers: this model's layout is not the one the gates know."
        )


def gate_tensor(num_layers: int, num_heads: int, knocked_out: Iterable[Head] = ()) -> Any:
    """ξ: ones, with zeros at the knocked-out heads (float32, no gradient)."""
    import torch

    gates = torch.ones((num_layers, num_heads), dtype=torch.float32)
    for layer, head in knocked_out:
        gates[layer, head] = 0.0
    return gates


@contextmanager
def knocked_out_heads(loaded: Any, knocked_out: Iterable[Head]) -> Iterator[None]:
    """Passes in this block run with ``knocked_out`` heads switched off; none: untouched."""
    heads = check_heads(loaded.info.num_layers, loaded.info.num_heads, knocked_out)
    if not heads:
        yield
        return
    with gated(loaded, gate_tensor(loaded.info.num_layers, loaded.info.num_heads, heads)):
        yield


def check_heads(num_layers: int, num_heads: int, heads: Iterable[Head]) -> tuple[Head, ...]:
    """The heads sorted and without repeats, each checked against the model's shape."""
    found = sorted({(int(layer), int(head)) for layer, head in heads})
    for layer, head in found:
        if not (0 <= layer < num_layers and 0 <= head < num_heads):
            raise KnockOutSpecError(
                f"There is no head {layer + 1}:{head + 1}: the model has {num_layers} layers "
                f"of {num_heads} heads (both counted from 1)."
            )
    return tuple(found)


def parse_head_spec(spec: str) -> Head:
    """'L:H' counted from 1 (as the window shows them) → (layer, head) counted from 0."""
    parts = spec.split(":")
    try:
        layer, head = (int(part) for part in parts)
    except ValueError as err:
        raise KnockOutSpecError(
            f"'{spec}' is not a head: write LAYER:HEAD, both counted from 1 (e.g. 3:7)."
        ) from err
    if layer < 1 or head < 1:
        raise KnockOutSpecError(f"'{spec}': layers and heads are counted from 1.")
    return layer - 1, head - 1


def head_label(head: Head) -> str:
    """(layer, head) counted from 0 → 'L:H' counted from 1."""
    return f"{head[0] + 1}:{head[1] + 1}"
