"""Tiny random checkpoints of every supported family, each with a real tokenizer of its kind.

Each vocabulary is trained here with the ``tokenizers`` library on a few sentences (no
network): WordPiece for BERT, DistilBERT and ELECTRA; byte-level BPE (``Ġ`` marks a space) for
RoBERTa and GPT-2; SentencePiece-style Unigram (``▁`` marks a space) for XLM-R, CamemBERT,
ALBERT and DeBERTa-v2. The trained vocabulary goes into the family's own transformers
tokenizer class, which adds that family's normalizer, pre-tokenizer and special-token
template, and ``save_pretrained`` writes both so that ``AutoTokenizer`` loads them back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPUS = (
    "I love my pet python. Is it a snake?",
    "The quick brown fox jumps over the lazy dog.",
    "Attention is all you need, said the paper in 2017.",
    "Café crème and a croissant, s'il vous plaît!",
    "Transformers read text as pieces: words, subwords and characters.",
    "A bidirectional encoder sees both sides; a causal decoder sees only the past.",
    "Hello world, hello again: the model attends to every token it may see.",
)
SENTENCE = "I love my pet python."
PAIR = "Is it a snake?"

_TINY = {"hidden_size": 32, "num_attention_heads": 4, "intermediate_size": 37}
_POSITIONS = 64


@dataclass(frozen=True)
class Family:
    """One row of issue 20's table: how to build its checkpoint, and what it is."""

    name: str
    model_type: str
    tokenizer_kind: str  # "wordpiece", "bpe" or "unigram"
    build: Callable[[Path], Path]
    has_pooler: bool
    causal: bool = False
    token_types: bool = True


def _train(kind: str, special: list[str], vocab_size: int) -> Any:
    """A tokenizers model trained on CORPUS; returns the Tokenizer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    if kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        trainer: Any = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=special)
    elif kind == "bpe":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=special,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        )
    else:
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        trainer = trainers.UnigramTrainer(
            vocab_size=vocab_size, special_tokens=special, unk_token=special[_unk_index(special)]
        )
    tok.train_from_iterator(list(CORPUS) * 3, trainer=trainer)
    return tok


def _unk_index(special: list[str]) -> int:
    return next(i for i, token in enumerate(special) if "unk" in token.lower())


def _model_json(tok: Any) -> dict[str, Any]:
    model: dict[str, Any] = json.loads(tok.to_str())["model"]
    return model


def wordpiece_vocab() -> dict[str, int]:
    """A trained WordPiece vocabulary with BERT's special tokens first."""
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab: dict[str, int] = _train("wordpiece", special, 220).get_vocab()
    return vocab


def bpe_vocab_merges(special: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A trained byte-level BPE: vocabulary and merges (``Ġ`` is a space)."""
    model = _model_json(_train("bpe", special, 330))
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return dict(model["vocab"]), merges


def unigram_vocab(special: list[str]) -> list[tuple[str, float]]:
    """A trained Unigram vocabulary (``▁`` is a space) with ``special`` first, as pieces."""
    model = _model_json(_train("unigram", special, 160))
    return [(str(piece), float(score)) for piece, score in model["vocab"]]


def _save(folder: Path, tokenizer: Any, config: Any) -> Path:
    import torch
    from transformers import AutoModel

    folder.mkdir(parents=True, exist_ok=True)
    config.vocab_size = len(tokenizer)
    torch.manual_seed(0)
    model = AutoModel.from_config(config)
    model.save_pretrained(folder)
    tokenizer.model_max_length = _POSITIONS
    tokenizer.save_pretrained(folder)
    return folder


def build_bert(folder: Path) -> Path:
    """BERT: WordPiece, [CLS]/[SEP], two segments, a pooler."""
    from transformers import BertConfig, BertTokenizerFast

    tokenizer = BertTokenizerFast(vocab=wordpiece_vocab())
    config = BertConfig(num_hidden_layers=3, max_position_embeddings=_POSITIONS, **_TINY)
    return _save(folder, tokenizer, config)


def build_distilbert(folder: Path) -> Path:
    """DistilBERT: WordPiece, no token types, no pooler, its own size names."""
    from transformers import DistilBertConfig, DistilBertTokenizerFast

    tokenizer = DistilBertTokenizerFast(vocab=wordpiece_vocab())
    config = DistilBertConfig(
        n_layers=2, n_heads=4, dim=32, hidden_dim=37, max_position_embeddings=_POSITIONS
    )
    return _save(folder, tokenizer, config)


def build_electra(folder: Path) -> Path:
    """ELECTRA's discriminator: WordPiece, embedding size ≠ hidden size, no pooler."""
    from transformers import ElectraConfig, ElectraTokenizerFast

    tokenizer = ElectraTokenizerFast(vocab=wordpiece_vocab())
    config = ElectraConfig(
        num_hidden_layers=2, embedding_size=16, max_position_embeddings=_POSITIONS, **_TINY
    )
    return _save(folder, tokenizer, config)


_ROBERTA_SPECIAL = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
# One token type; positions count from pad_token_id + 1, so the table holds two more rows.
_ROBERTA_SIZES: dict[str, Any] = {
    "num_hidden_layers": 2,
    "type_vocab_size": 1,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "max_position_embeddings": _POSITIONS + 2,
    **_TINY,
}


def build_roberta(folder: Path) -> Path:
    """RoBERTa: byte-level BPE, <s>/</s>/<mask>, one segment type, positions after pad."""
    from transformers import RobertaConfig, RobertaTokenizerFast

    vocab, merges = bpe_vocab_merges(_ROBERTA_SPECIAL)
    tokenizer = RobertaTokenizerFast(vocab=vocab, merges=merges)
    return _save(folder, tokenizer, RobertaConfig(**_ROBERTA_SIZES))


def _xlmr_like(folder: Path, config_class: Any, tokenizer_class: Any) -> Path:
    vocab = unigram_vocab(["<s>", "<pad>", "</s>", "<unk>"])
    vocab.append(("<mask>", 0.0))
    return _save(folder, tokenizer_class(vocab=vocab), config_class(**_ROBERTA_SIZES))


def build_xlm_roberta(folder: Path) -> Path:
    """XLM-R: SentencePiece-style Unigram, RoBERTa's special tokens and positions."""
    from transformers import XLMRobertaConfig, XLMRobertaTokenizerFast

    return _xlmr_like(folder, XLMRobertaConfig, XLMRobertaTokenizerFast)


def build_camembert(folder: Path) -> Path:
    """CamemBERT: as XLM-R, its own classes."""
    from transformers import CamembertConfig, CamembertTokenizerFast

    return _xlmr_like(folder, CamembertConfig, CamembertTokenizerFast)


def build_albert(folder: Path) -> Path:
    """ALBERT: Unigram, one layer shared across 3 depths, embeddings of 16 under hidden 32."""
    from transformers import AlbertConfig, AlbertTokenizerFast

    vocab = unigram_vocab(["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"])
    tokenizer = AlbertTokenizerFast(vocab=vocab)
    config = AlbertConfig(
        num_hidden_layers=3,
        embedding_size=16,
        max_position_embeddings=_POSITIONS,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
        **_TINY,
    )
    return _save(folder, tokenizer, config)


def build_deberta_v2(folder: Path) -> Path:
    """DeBERTa-v2: Unigram, disentangled (content and relative position) attention."""
    from transformers import DebertaV2Config, DebertaV2TokenizerFast

    special = ["[PAD]", "[CLS]", "[SEP]", "[UNK]"]
    vocab = unigram_vocab(special)
    vocab.append(("[MASK]", 0.0))
    tokenizer = DebertaV2TokenizerFast(vocab=vocab, unk_id=3)
    config = DebertaV2Config(
        num_hidden_layers=2,
        max_position_embeddings=_POSITIONS,
        relative_attention=True,
        position_buckets=16,
        pos_att_type=["p2c", "c2p"],
        position_biased_input=False,
        max_relative_positions=-1,
        type_vocab_size=0,
        pad_token_id=0,
        **_TINY,
    )
    return _save(folder, tokenizer, config)


def build_gpt2(folder: Path) -> Path:
    """GPT-2: byte-level BPE, <|endoftext|> only, causal attention, no pooler."""
    from transformers import GPT2Config, GPT2TokenizerFast

    vocab, merges = bpe_vocab_merges(["<|endoftext|>"])
    tokenizer = GPT2TokenizerFast(vocab=vocab, merges=merges)
    config = GPT2Config(n_layer=2, n_head=4, n_embd=32, n_positions=_POSITIONS)
    config.bos_token_id = config.eos_token_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    return _save(folder, tokenizer, config)


FAMILIES = (
    Family("BERT", "bert", "wordpiece", build_bert, has_pooler=True),
    Family("RoBERTa", "roberta", "bpe", build_roberta, has_pooler=True),
    Family("XLM-R", "xlm-roberta", "unigram", build_xlm_roberta, has_pooler=True),
    Family("CamemBERT", "camembert", "unigram", build_camembert, has_pooler=True),
    Family("DistilBERT", "distilbert", "wordpiece", build_distilbert, False, token_types=False),
    Family("ALBERT", "albert", "unigram", build_albert, has_pooler=True),
    Family("ELECTRA", "electra", "wordpiece", build_electra, has_pooler=False),
    Family("DeBERTa-v2", "deberta-v2", "unigram", build_deberta_v2, False, token_types=False),
    Family("GPT-2", "gpt2", "bpe", build_gpt2, has_pooler=False, causal=True, token_types=False),
)
FAMILY_BY_NAME = {family.name: family for family in FAMILIES}
