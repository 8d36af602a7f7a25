"""Which prediction head a checkpoint has: from its config's architectures and its weights.

The head class is loaded (BertForMaskedLM, ...) and its base encoder is what the explorer
hooks, so encoder and head come from one forward pass. A head whose weights are not in the
checkpoint is never shown: transformers would initialise it at random.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.core.heads.sentence import SentencePooling, read_sentence_folder

PRETRAINING = "pretraining"
MASKED_LM = "masked-lm"
NEXT_SENTENCE = "next-sentence"
SEQUENCE_CLASSIFICATION = "sequence-classification"
TOKEN_CLASSIFICATION = "token-classification"
QUESTION_ANSWERING = "question-answering"
SENTENCE_EMBEDDING = "sentence-embedding"
CAUSAL_LM = "causal-lm"
NO_HEAD = "none"
HEAD_KINDS = (
    PRETRAINING,
    MASKED_LM,
    NEXT_SENTENCE,
    SEQUENCE_CLASSIFICATION,
    TOKEN_CLASSIFICATION,
    QUESTION_ANSWERING,
    SENTENCE_EMBEDDING,
    CAUSAL_LM,
    NO_HEAD,
)
MLM_KINDS = frozenset({PRETRAINING, MASKED_LM})
VOCABULARY_KINDS = MLM_KINDS | {CAUSAL_LM}  # heads that score the whole vocabulary

# architectures suffix → (head kind, transformers auto class that builds it)
_BY_SUFFIX = {
    "ForPreTraining": (PRETRAINING, "AutoModelForPreTraining"),
    "ForMaskedLM": (MASKED_LM, "AutoModelForMaskedLM"),
    "ForNextSentencePrediction": (NEXT_SENTENCE, "AutoModelForNextSentencePrediction"),
    "ForSequenceClassification": (SEQUENCE_CLASSIFICATION, "AutoModelForSequenceClassification"),
    "ForTokenClassification": (TOKEN_CLASSIFICATION, "AutoModelForTokenClassification"),
    "ForQuestionAnswering": (QUESTION_ANSWERING, "AutoModelForQuestionAnswering"),
    "LMHeadModel": (CAUSAL_LM, "AutoModelForCausalLM"),  # GPT-2's next-token head
    "ForCausalLM": (CAUSAL_LM, "AutoModelForCausalLM"),
}
HEAD_NAMES = {
    PRETRAINING: "pretraining (masked-LM and next-sentence)",
    MASKED_LM: "masked-LM",
    NEXT_SENTENCE: "next-sentence",
    SEQUENCE_CLASSIFICATION: "sequence-classification",
    TOKEN_CLASSIFICATION: "token-classification",
    QUESTION_ANSWERING: "question-answering",
    SENTENCE_EMBEDDING: "sentence-embedding",
    CAUSAL_LM: "next-token (language-model)",
}
# BERT's pretraining checkpoints often say BertForMaskedLM yet hold the next-sentence weights.
_NSP_WEIGHT = "cls.seq_relationship.weight"


@dataclass(frozen=True)
class HeadChoice:
    """The head to load: its kind, the auto class, and why another was not (``note``)."""

    kind: str
    auto_class: str = "AutoModel"
    note: str = ""
    pooling: SentencePooling | None = None


def choose_head(
    config: Any, folder: Path | None, checkpoint_keys: Collection[str] | None
) -> HeadChoice:
    """The head the explorer loads for this checkpoint (see the module docstring)."""
    sentence = read_sentence_folder(folder)
    if sentence is not None:
        if sentence.pooling is None:
            return HeadChoice(NO_HEAD, note=sentence.note)
        return HeadChoice(SENTENCE_EMBEDDING, pooling=sentence.pooling)
    architectures = getattr(config, "architectures", None) or []
    named = str(architectures[0]) if architectures else ""
    suffix = next((s for s in _BY_SUFFIX if named.endswith(s)), None)
    if suffix is None:
        return HeadChoice(NO_HEAD)
    kind, auto_class = _BY_SUFFIX[suffix]
    model_type = getattr(config, "model_type", "")
    if model_type == "electra" and kind == PRETRAINING:
        return HeadChoice(
            NO_HEAD,
            note="ELECTRA's pretraining head is the discriminator (replaced-token detection), "
            "which the explorer does not show",
        )
    if kind == PRETRAINING and model_type != "bert":
        kind, auto_class = MASKED_LM, "AutoModelForMaskedLM"  # ALBERT's sentence order: not shown
    if kind == MASKED_LM and checkpoint_keys is not None and _NSP_WEIGHT in checkpoint_keys:
        kind, auto_class = PRETRAINING, "AutoModelForPreTraining"
    elif kind == PRETRAINING and checkpoint_keys is not None and _NSP_WEIGHT not in checkpoint_keys:
        kind, auto_class = MASKED_LM, "AutoModelForMaskedLM"  # its trained masked-LM half
    if not _family_has(auto_class, config):
        return HeadChoice(
            NO_HEAD,
            note=f"transformers has no {HEAD_NAMES[kind]} head for '{model_type}' models",
        )
    return HeadChoice(kind, auto_class)


def _family_has(auto_class: str, config: Any) -> bool:
    import transformers

    mapping = getattr(getattr(transformers, auto_class), "_model_mapping", None)
    try:
        return mapping is not None and type(config) in mapping
    except Exception:  # a lazy mapping that cannot import a family: treat as absent
        return False


def head_labels(config: Any, count: int) -> tuple[str, ...]:
    """id2label in id order; the id itself where a name is missing."""
    names = getattr(config, "id2label", None) or {}
    labels = []
    for index in range(count):
        name = names.get(index, names.get(str(index))) if isinstance(names, dict) else None
        labels.append(str(name) if name is not None else str(index))
    return tuple(labels)


def untrained_head_note(kind: str, missing: list[str]) -> str:
    """What the panel says when the checkpoint lacks the head's weights."""
    return (
        f"this checkpoint has no trained {HEAD_NAMES.get(kind, kind)} head "
        f"({len(missing)} of its weights are missing, e.g. {missing[0]})"
    )
