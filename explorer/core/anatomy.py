"""Model anatomy: every named parameter with its shape, grouped the way the lecture draws BERT.

``parameter_table`` runs once at load time (in the worker) and its plain tuples travel inside
ModelInfo; everything else here is pure Python over those tuples, cheap enough for the GUI.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from explorer.core.results import ModelInfo

# "encoder.layer.3.…" (BERT, RoBERTa, ELECTRA) or "transformer.layer.3.…" (DistilBERT).
_LAYER = re.compile(r"^(?P<prefix>(?:.*\.)?layers?\.)(?P<layer>\d+)\.(?P<rest>.+)$")
EMBEDDINGS_KEY = "embeddings"
POOLER_KEY = "pooler"
OTHER_KEY = "other"


def parameter_table(model: Any) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(name, shape) of every named parameter in the model's order: hashable, no torch inside."""
    return tuple((name, tuple(int(d) for d in p.shape)) for name, p in model.named_parameters())


@dataclass(frozen=True)
class ParameterRow:
    """One named parameter."""

    name: str  # the full name, e.g. "encoder.layer.0.attention.self.query.weight"
    short_name: str  # the name inside its group, e.g. "attention.self.query.weight"
    shape: tuple[int, ...]
    values: int


@dataclass(frozen=True)
class ParameterGroup:
    """The embedding layer, one encoder layer, the output layer (pooler), or anything else."""

    key: str  # "embeddings", "encoder.3", "pooler" or "other"
    title: str  # "Embedding layer", "Encoder 4", …
    layer: int  # 0-based encoder layer, -1 for the other groups
    rows: tuple[ParameterRow, ...]

    @property
    def values(self) -> int:
        """Number of values in the group."""
        return sum(row.values for row in self.rows)


@dataclass(frozen=True)
class Anatomy:
    """All groups in lecture order, with totals."""

    groups: tuple[ParameterGroup, ...]

    @property
    def tensors(self) -> int:
        """How many named parameters the model has."""
        return sum(len(group.rows) for group in self.groups)

    @property
    def values(self) -> int:
        """How many numbers the model learns."""
        return sum(group.values for group in self.groups)

    def encoder_groups(self) -> tuple[ParameterGroup, ...]:
        """Encoder 1 … N, in order."""
        return tuple(group for group in self.groups if group.layer >= 0)


def build_anatomy(parameters: tuple[tuple[str, tuple[int, ...]], ...]) -> Anatomy:
    """Group (name, shape) pairs: embeddings, encoder 1 … N, the output layer, then the rest."""
    embeddings: list[ParameterRow] = []
    pooler: list[ParameterRow] = []
    other: list[ParameterRow] = []
    layers: dict[int, list[ParameterRow]] = {}
    for name, shape in parameters:
        values = math.prod(shape)
        match = _LAYER.match(name)
        if match is not None:
            row = ParameterRow(name, match["rest"], shape, values)
            layers.setdefault(int(match["layer"]), []).append(row)
        elif name.startswith(EMBEDDINGS_KEY + "."):
            embeddings.append(ParameterRow(name, name.removeprefix("embeddings."), shape, values))
        elif name.startswith(POOLER_KEY + "."):
            pooler.append(ParameterRow(name, name.removeprefix("pooler."), shape, values))
        else:
            other.append(ParameterRow(name, name, shape, values))
    groups = [ParameterGroup(EMBEDDINGS_KEY, "Embedding layer", -1, tuple(embeddings))]
    groups += [
        ParameterGroup(f"encoder.{layer}", f"Encoder {layer + 1}", layer, tuple(layers[layer]))
        for layer in sorted(layers)
    ]
    if pooler:
        groups.append(ParameterGroup(POOLER_KEY, "Output layer (pooler)", -1, tuple(pooler)))
    if other:
        groups.append(ParameterGroup(OTHER_KEY, "Other parameters", -1, tuple(other)))
    return Anatomy(tuple(group for group in groups if group.rows))


def shape_symbols(shape: tuple[int, ...], info: ModelInfo) -> str:
    """Name each dimension after the config size it equals ('V × d'), '' when some do not.

    Sizes are matched in a fixed order (d, d_ff, V, P, types) so two equal sizes never flip.
    """
    names = (
        (info.hidden_size, "d"),
        (info.intermediate_size, "d_ff"),
        (info.config_vocab_size, "V"),
        (info.max_position_embeddings, "P"),
        (info.type_vocab_size, "types"),
    )
    symbols = []
    for dim in shape:
        symbol = next((name for size, name in names if size and size == dim), None)
        if symbol is None:
            return ""
        symbols.append(symbol)
    return " × ".join(symbols)


def config_summary(info: ModelInfo) -> tuple[tuple[str, str], ...]:
    """(label, value) rows of the configuration the lecture talks about."""

    def size(value: int) -> str:
        return f"{value:,}" if value else "—"

    vocabulary = size(info.config_vocab_size or info.vocab_size)
    if info.config_vocab_size and info.vocab_size and info.vocab_size != info.config_vocab_size:
        vocabulary += f" (tokenizer: {info.vocab_size:,})"
    return (
        ("layers", str(info.num_layers)),
        ("attention heads", str(info.num_heads)),
        ("hidden size d", size(info.hidden_size)),
        ("intermediate size d_ff", size(info.intermediate_size)),
        ("vocabulary V", vocabulary),
        ("maximum positions P", size(info.max_position_embeddings)),
        ("token type vocabulary", size(info.type_vocab_size)),
        ("attention implementation", info.attn_implementation),
    )


def format_shape(shape: tuple[int, ...]) -> str:
    """'30,522 × 768', or 'scalar'."""
    return " × ".join(f"{d:,}" for d in shape) if shape else "scalar"
