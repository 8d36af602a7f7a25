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

# "encoder.layer.3.…" (BERT, RoBERTa, ELECTRA, DeBERTa), "transformer.layer.3.…" (DistilBERT)
# or "h.3.…" (GPT-2), after any head model's prefix ("bert.", "transformer.", …).
_LAYER = re.compile(r"^(?P<prefix>(?:.*\.)?(?:layers?|h)\.)(?P<layer>\d+)\.(?P<rest>.+)$")
# ALBERT: one group of layers run at several depths ("encoder.albert_layer_groups.0.…").
_SHARED = re.compile(
    r"^(?:.*\.)?albert_layer_groups\.(?P<group>\d+)\.albert_layers\.(?P<inner>\d+)\.(?P<rest>.+)$"
)
# Parameters of the input side that are not under "embeddings.": GPT-2's token and position
# tables, ALBERT's and ELECTRA's E → D projections, DeBERTa's relative-position table and
# its LayerNorm.
_EMBEDDING_NAMES = re.compile(
    r"^(?:.*\.)?(?:embeddings\.|embeddings_project\.|wte\.|wpe\."
    r"|encoder\.embedding_hidden_mapping_in\."
    r"|encoder\.rel_embeddings\.|encoder\.LayerNorm\.)"
)
# The output side: the pooler, GPT-2's final LayerNorm, and a checkpoint's prediction head.
_OUTPUT_NAMES = re.compile(
    r"^(?:(?:.*\.)?pooler\.|(?:.*\.)?ln_f\.|cls\.|lm_head\.|classifier\.|pre_classifier\."
    r"|qa_outputs\.|predictions\.|sop_classifier\.|generator_|discriminator_predictions\."
    r"|vocab_|mask_predictions\.|score\.)"
)
EMBEDDINGS_KEY = "embeddings"
POOLER_KEY = "pooler"
OTHER_KEY = "other"
SHARED_KEY = "shared"


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

    key: str  # "embeddings", "encoder.3", "shared.0", "pooler" or "other"
    title: str  # "Embedding layer", "Encoder 4", "Shared layer (depths 1–12)", …
    layer: int  # 0-based encoder layer (a shared group: its first depth), -1 for the others
    rows: tuple[ParameterRow, ...]
    depths: tuple[int, ...] = ()  # a shared group (ALBERT): every depth that runs it

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
        """Encoder 1 … N (or ALBERT's shared groups), in order."""
        return tuple(group for group in self.groups if group.layer >= 0)


def _short(name: str, marker: re.Pattern[str]) -> str:
    """The name after its group's own prefix ("embeddings.word_embeddings.weight" → …)."""
    match = marker.match(name)
    if match is None:
        return name
    prefix = match.group(0)
    kept = prefix.rsplit(".", 2)[-2] + "." if prefix.endswith(".") else ""
    if kept in ("embeddings.", "pooler."):
        kept = ""
    return kept + name[match.end() :]


def build_anatomy(
    parameters: tuple[tuple[str, tuple[int, ...]], ...], num_layers: int = 0
) -> Anatomy:
    """Group (name, shape) pairs: embeddings, encoder 1 … N, the output layer, then the rest.

    Every family's names are recognised (BERT-like, DistilBERT, ALBERT, DeBERTa, GPT-2, with
    or without a head model's prefix). ALBERT's layer groups become shared groups that name
    the depths running them (``num_layers`` deep; without it, every depth is unknown).
    """
    embeddings: list[ParameterRow] = []
    output: list[ParameterRow] = []
    other: list[ParameterRow] = []
    layers: dict[int, list[ParameterRow]] = {}
    shared: dict[int, list[ParameterRow]] = {}
    for name, shape in parameters:
        values = math.prod(shape)
        if (match := _SHARED.match(name)) is not None:
            rest = match["rest"] if match["inner"] == "0" else f"{match['inner']}.{match['rest']}"
            shared.setdefault(int(match["group"]), []).append(
                ParameterRow(name, rest, shape, values)
            )
        elif (match := _LAYER.match(name)) is not None:
            row = ParameterRow(name, match["rest"], shape, values)
            layers.setdefault(int(match["layer"]), []).append(row)
        elif _EMBEDDING_NAMES.match(name):
            embeddings.append(ParameterRow(name, _short(name, _EMBEDDING_NAMES), shape, values))
        elif _OUTPUT_NAMES.match(name):
            output.append(ParameterRow(name, _short(name, _OUTPUT_NAMES), shape, values))
        else:
            other.append(ParameterRow(name, name, shape, values))
    groups = [ParameterGroup(EMBEDDINGS_KEY, "Embedding layer", -1, tuple(embeddings))]
    groups += [
        ParameterGroup(f"encoder.{layer}", f"Encoder {layer + 1}", layer, tuple(layers[layer]))
        for layer in sorted(layers)
    ]
    groups += _shared_groups(shared, num_layers)
    if output:
        title = (
            "Output layer (pooler)"
            if all(".pooler." in f".{r.name}" for r in output)
            else ("Output layer")
        )
        groups.append(ParameterGroup(POOLER_KEY, title, -1, tuple(output)))
    if other:
        groups.append(ParameterGroup(OTHER_KEY, "Other parameters", -1, tuple(other)))
    return Anatomy(tuple(group for group in groups if group.rows))


def _shared_groups(shared: dict[int, list[ParameterRow]], num_layers: int) -> list[ParameterGroup]:
    """ALBERT's groups: depth i runs group int(i / (L / G)), as AlbertTransformer does."""
    count = len(shared)
    groups = []
    for group in sorted(shared):
        depths = tuple(
            depth for depth in range(num_layers) if int(depth / (num_layers / count)) == group
        )
        where = (
            f"depths {depths[0] + 1}–{depths[-1] + 1}"
            if len(depths) > 1
            else (f"depth {depths[0] + 1}" if depths else "every depth")
        )
        title = f"Shared layer{f' {group + 1}' if count > 1 else ''} (one set of weights, {where})"
        groups.append(
            ParameterGroup(
                f"{SHARED_KEY}.{group}",
                title,
                depths[0] if depths else 0,
                tuple(shared[group]),
                depths,
            )
        )
    return groups


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
