"""The catalogue of broken and hostile model folders: each one breaks one thing of a good folder.

Every case names a fragment of the message the user must get. The classes: config fields of
the wrong type or range, resource bombs (sizes, memory, huge or deep JSON), files that are not
files, tokenizer settings, vocabularies that do not fit their model, and broken weights.
``LOADABLE`` lists odd but valid folders that must still load.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Broken:
    """One broken folder: ``build`` breaks a copy of a good one; ``message`` must be said."""

    name: str
    build: Callable[[Path], None]
    message: str


def _edit_json(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def config(**values: Any) -> Callable[[Path], None]:
    """Set config.json fields (NaN and infinity are written as JSON's NaN / Infinity)."""
    return lambda folder: _edit_json(folder / "config.json", lambda c: c.update(values))


def raw_config(text: str) -> Callable[[Path], None]:
    """Set one field to raw JSON text (for NaN, huge numbers, …), adding it if missing."""

    def build(folder: Path) -> None:
        path = folder / "config.json"
        data = path.read_text(encoding="utf-8")
        key = text.split(":")[0].strip('" ')
        data, found = re.subn(rf'"{key}":\s*[^,}}]+', text, data)
        if not found:
            data = data.replace("{", "{" + text + ", ", 1)
        path.write_text(data, encoding="utf-8")

    return build


def tokenizer_setting(**values: Any) -> Callable[[Path], None]:
    """Set tokenizer_config.json fields."""
    return lambda folder: _edit_json(folder / "tokenizer_config.json", lambda c: c.update(values))


def write(name: str, content: str | bytes) -> Callable[[Path], None]:
    """Replace a file's content."""

    def build(folder: Path) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)

    return build


def sparse(name: str, size: int) -> Callable[[Path], None]:
    """A huge file that costs no disk: its size is all a reader sees before reading."""

    def build(folder: Path) -> None:
        with (folder / name).open("wb") as handle:
            handle.truncate(size)

    return build


def nested(depth: int) -> str:
    """A JSON object nested ``depth`` levels deep."""
    return '{"a":' * depth + "1" + "}" * depth


def write_to(content: str) -> Callable[[Path], None]:
    """Write ``content`` to the path given (for builders that choose the path)."""
    return lambda path: path.write_text(content, encoding="utf-8")


def replace_with_folder(name: str) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).mkdir()

    return build


def replace_with_fifo(name: str) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        (folder / name).unlink(missing_ok=True)
        os.mkfifo(folder / name)

    return build


def symlink_loop(name: str) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).symlink_to(folder / name)

    return build


def remove(*names: str) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        for name in names:
            (folder / name).unlink()

    return build


def vocab_without(*tokens: str) -> Callable[[Path], None]:
    """Only vocab.txt (tokenizer.json gone), with ``tokens`` renamed: as many lines as before."""

    def build(folder: Path) -> None:
        (folder / "tokenizer.json").unlink()
        path = folder / "vocab.txt"
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = [f"renamed{i}" if t in tokens else t for i, t in enumerate(lines)]
        path.write_text("\n".join(kept) + "\n", encoding="utf-8")

    return build


def added_token_with_id(token_id: int) -> Callable[[Path], None]:
    """An added token whose id lies far past the embedding matrix (sparse ids)."""

    def change(data: dict[str, Any]) -> None:
        data["added_tokens"].append(
            {
                "id": token_id,
                "content": "[FAR]",
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
        )

    return lambda folder: _edit_json(folder / "tokenizer.json", change)


def many_added_tokens(count: int) -> Callable[[Path], None]:
    """tokenizer.json with ``count`` more added tokens (ids past the vocabulary)."""

    def change(data: dict[str, Any]) -> None:
        data["added_tokens"] += [
            {"id": 30_522 + i, "content": f"[T{i}]", "special": True} for i in range(count)
        ]

    return lambda folder: _edit_json(folder / "tokenizer.json", change)


def shrink_embeddings(rows: int) -> Callable[[Path], None]:
    """A consistent smaller model: ``rows`` word embeddings in weights and config alike."""

    def build(folder: Path) -> None:
        from safetensors.torch import load_file, save_file

        path = folder / "model.safetensors"
        tensors = load_file(path)
        key = "embeddings.word_embeddings.weight"
        tensors[key] = tensors[key][:rows].clone()
        save_file(tensors, path, metadata={"format": "pt"})
        config(vocab_size=rows)(folder)

    return build


def pickled_weights(folder: Path) -> None:
    """model.safetensors converted to a zip-format pytorch_model.bin (same tensors)."""
    import torch
    from safetensors.torch import load_file

    path = folder / "model.safetensors"
    torch.save(load_file(path), folder / "pytorch_model.bin")
    path.unlink()


def truncate_weights(keep: int) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        path = folder / "model.safetensors"
        path.write_bytes(path.read_bytes()[:keep])

    return build


def weights_replaced_by(name: str, make: Callable[[Path], None]) -> Callable[[Path], None]:
    """model.safetensors gone, ``name`` made by ``make`` in its place."""

    def build(folder: Path) -> None:
        (folder / "model.safetensors").unlink()
        make(folder / name)

    return build


def link_to(name: str, target: str) -> Callable[[Path], None]:
    """``name`` replaced by a symlink to ``target`` (a device, a file elsewhere)."""

    def build(folder: Path) -> None:
        (folder / name).unlink(missing_ok=True)
        (folder / name).symlink_to(target)

    return build


def vocab_with_duplicate(line: int, copy_of: int) -> Callable[[Path], None]:
    """Only vocab.txt (tokenizer.json gone), with line ``line`` a copy of line ``copy_of``."""

    def build(folder: Path) -> None:
        (folder / "tokenizer.json").unlink()
        path = folder / "vocab.txt"
        lines = path.read_text(encoding="utf-8").splitlines()
        lines[line - 1] = lines[copy_of - 1]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    return build


def both(*builders: Callable[[Path], None]) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        for builder in builders:
            builder(folder)

    return build


WHOLE = "must be a whole number"
RANGE = "outside the"
CATALOGUE: list[Broken] = [
    # --- config fields of the wrong type or out of range
    Broken("layers as a float", config(num_hidden_layers=4.0), WHOLE),
    Broken("layers NaN", raw_config('"num_hidden_layers": NaN'), WHOLE),
    Broken("layers infinity", raw_config('"num_hidden_layers": Infinity'), WHOLE),
    Broken("layers as a string", config(num_hidden_layers="4"), WHOLE),
    Broken("layers as a bool", config(num_hidden_layers=True), WHOLE),
    Broken("layers null", config(num_hidden_layers=None), WHOLE),
    Broken("zero layers", config(num_hidden_layers=0), RANGE),
    Broken("100,000 layers", config(num_hidden_layers=100_000), RANGE),
    Broken("negative heads", config(num_attention_heads=-4), RANGE),
    Broken("zero heads", config(num_attention_heads=0), RANGE),
    Broken("heads as a float", config(num_attention_heads=4.5), WHOLE),
    Broken("hidden not a multiple of heads", config(num_attention_heads=3), "not a multiple"),
    Broken("hidden size as a string", config(hidden_size="32"), WHOLE),
    Broken("hidden size 10^9", config(hidden_size=1_000_000_000), RANGE),
    Broken("hidden size 1e400", raw_config('"hidden_size": 1e400'), WHOLE),
    Broken("intermediate size negative", config(intermediate_size=-1), RANGE),
    Broken("vocabulary size 10^8", config(vocab_size=100_000_000), RANGE),
    Broken("positions NaN", raw_config('"max_position_embeddings": NaN'), WHOLE),
    Broken("positions 10^7", config(max_position_embeddings=10_000_000), RANGE),
    Broken("token types negative", config(type_vocab_size=-1), RANGE),
    Broken("eps as a string", config(layer_norm_eps="tiny"), "must be a number"),
    Broken("eps NaN", raw_config('"layer_norm_eps": NaN'), "must be finite"),
    Broken("eps zero", config(layer_norm_eps=0), "above 0"),
    Broken("dropout 1.5", config(hidden_dropout_prob=1.5), "probability"),
    Broken("dropout -infinity", raw_config('"attention_probs_dropout_prob": -Infinity'), "finite"),
    Broken("activation a number", config(hidden_act=5), "not a function name"),
    Broken("activation unknown", config(hidden_act="wiggle"), "unknown activation"),
    Broken("model_type a number", config(model_type=5), "not a name"),
    Broken("model_type unknown", config(model_type="nonsense-net"), "'nonsense-net' model"),
    Broken("model_type t5", config(model_type="t5"), "'t5' model"),
    Broken("model_type bart", config(model_type="bart"), "'bart' model"),
    Broken("custom code", config(auto_map={"AutoModel": "x.Y"}), "custom model code"),
    Broken("DistilBERT layers a float", config(model_type="distilbert", n_layers=2.5), WHOLE),
    Broken("DistilBERT zero heads", config(model_type="distilbert", n_heads=0), RANGE),
    Broken("DistilBERT dim a string", config(model_type="distilbert", dim="768"), WHOLE),
    Broken("DistilBERT hidden_dim NaN", raw_config('"hidden_dim": NaN'), WHOLE),
    Broken("hidden size a 5000-digit number", raw_config('"hidden_size": ' + "9" * 5000), "JSON"),
    Broken("three positions", config(max_position_embeddings=3), RANGE),
    Broken("no token types", config(type_vocab_size=0), RANGE),
    Broken("pad id past the vocabulary", config(pad_token_id=10**9), "row of the word embeddings"),
    Broken("pad id negative", config(pad_token_id=-5), "row of the word embeddings"),
    Broken("pad id a string", config(pad_token_id="[PAD]"), "not a token id"),
    Broken("tie_word_embeddings a string", config(tie_word_embeddings="yes"), "true or false"),
    Broken("is_decoder a number", config(is_decoder=1), "true or false"),
    Broken("id2label a list", config(id2label=["a", "b"]), "not a JSON object"),
    Broken("id2label keyed by names", config(id2label={"a": "b"}), "maps label ids to names"),
    Broken("label2id to strings", config(label2id={"a": "b"}), "maps label names to ids"),
    Broken("one token type, pairs need two", config(type_vocab_size=1), "token type"),
    Broken("dropout a 401-digit number", raw_config('"hidden_dropout_prob": 1' + "0" * 400), "0–1"),
    Broken("chunked feed-forward", config(chunk_size_feed_forward=3), "chunk_size_feed_forward"),
    Broken("chunk size a string", config(chunk_size_feed_forward="x"), "chunk_size_feed_forward"),
    Broken(
        "RoBERTa pad id past the positions",
        config(model_type="roberta", pad_token_id=510),
        "counts positions from",
    ),
    Broken("RoBERTa pad id null", config(model_type="roberta", pad_token_id=None), "is null"),
    Broken("num_labels a string", config(num_labels="many"), WHOLE),
    Broken("num_labels negative", config(num_labels=-1), RANGE),
    # --- resource bombs
    # Terabytes, whatever the machine: the largest sizes the field checks let through.
    Broken(
        "weights beyond memory",
        config(
            num_hidden_layers=256,
            hidden_size=65_536,
            num_attention_heads=64,
            intermediate_size=262_144,
        ),
        "would need about",
    ),
    Broken(
        "attention maps beyond memory",
        config(num_hidden_layers=256, num_attention_heads=256, hidden_size=16_384),
        "would need about",
    ),
    Broken("2 GB config.json", sparse("config.json", 2 * 1024**3), "more than the 1.0 MB"),
    Broken("deeply nested config", write("config.json", nested(100_000)), "nests"),
    Broken("config nested 100 deep", write("config.json", nested(100)), "nests more than"),
    Broken("2 GB tokenizer.json", sparse("tokenizer.json", 2 * 1024**3), "more than the"),
    Broken("20 MB tokenizer_config", sparse("tokenizer_config.json", 20 * 1024**2), "more than"),
    Broken(
        "deeply nested tokenizer_config", write("tokenizer_config.json", nested(50_000)), "nests"
    ),
    Broken(
        "deeply nested special tokens map", write("special_tokens_map.json", nested(500)), "nests"
    ),
    Broken("1 GB vocab.txt", sparse("vocab.txt", 1024**3), "more than"),
    Broken("100 MB stray json", sparse("generation_config.json", 100 * 1024**2), "more than"),
    # Small files whose values transformers expands value by value in Python.
    Broken("a million labels", config(num_labels=1_000_000), "num_labels is 1000000"),
    Broken(
        "DistilBERT sinusoidal table of 200,000 positions",
        config(model_type="distilbert", sinusoidal_pos_embds=True, max_position_embeddings=200_000),
        "position table",
    ),
    Broken(
        "100,000 special tokens (a minute in transformers)",
        tokenizer_setting(additional_special_tokens=[f"[S{i}]" for i in range(100_000)]),
        "adds 100,000 tokens",
    ),
    Broken(
        "100,000 added tokens",
        write("added_tokens.json", json.dumps({f"[A{i}]": 30_522 + i for i in range(100_000)})),
        "adds 100,000 tokens",
    ),
    Broken("tokenizer.json nested 200 deep", write("tokenizer.json", nested(200)), "nests more"),
    Broken("tokenizer.json nested 100000 deep", write("tokenizer.json", nested(100_000)), "nests"),
    Broken("65 MB tokenizer.json", sparse("tokenizer.json", 65 * 1024**2), "than the 64.0 MB"),
    Broken("20,000 added tokens in tokenizer.json", many_added_tokens(20_000), "adds 20,005"),
    Broken(
        "weights index nested 100000 deep",
        weights_replaced_by("model.safetensors.index.json", write_to(nested(100_000))),
        "weights",
    ),
    # --- files that are not what their names say
    Broken("no config.json", remove("config.json"), "has no config.json"),
    Broken("config.json is a folder", replace_with_folder("config.json"), "not a regular file"),
    Broken("config.json is a pipe", replace_with_fifo("config.json"), "not a regular file"),
    Broken("config.json links to itself", symlink_loop("config.json"), "cannot be read"),
    Broken("tokenizer_config is a pipe", replace_with_fifo("tokenizer_config.json"), "regular"),
    Broken("added_tokens.json is a pipe", replace_with_fifo("added_tokens.json"), "regular"),
    Broken("vocab.txt is a pipe", replace_with_fifo("vocab.txt"), "not a regular file"),
    Broken("weights are a pipe", replace_with_fifo("model.safetensors"), "not a regular file"),
    Broken("weights are a folder", replace_with_folder("model.safetensors"), "not a regular"),
    Broken(
        "pickled weights a pipe", weights_replaced_by("pytorch_model.bin", os.mkfifo), "regular"
    ),
    Broken("config.json links to /dev/zero", link_to("config.json", "/dev/zero"), "regular"),
    Broken("tokenizer.json links to /dev/zero", link_to("tokenizer.json", "/dev/zero"), "regular"),
    Broken("dangling config link", link_to("config.json", "/nonexistent/x"), "cannot be read"),
    Broken("empty config.json", write("config.json", ""), "not valid JSON"),
    Broken("config.json a list", write("config.json", "[1, 2]"), "does not hold a JSON object"),
    Broken("config.json truncated", write("config.json", '{"model_type": "bert", '), "JSON"),
    Broken("config.json binary", write("config.json", b"\x00\xff\xfe garbage"), "JSON"),
    # --- tokenizer settings
    Broken("max length NaN", tokenizer_setting(model_max_length=float("nan")), "positive"),
    Broken("max length a string", tokenizer_setting(model_max_length="512"), "not a number"),
    Broken("max length negative", tokenizer_setting(model_max_length=-1), "positive"),
    Broken("max length zero", tokenizer_setting(model_max_length=0), "positive"),
    Broken("tokenizer_config a list", write("tokenizer_config.json", "[]"), "JSON object"),
    Broken("added_tokens.json a list", write("added_tokens.json", "[1]"), "JSON object"),
    Broken("added token id a string", write("added_tokens.json", '{"[A]": "x"}'), "tokenizer"),
    Broken(
        "added token past the embeddings",
        write("added_tokens.json", '{"[A]": 9999999}'),
        "ids up to",
    ),
    Broken(
        "added tokens keyed by names",
        tokenizer_setting(added_tokens_decoder={"abc": {"content": "[X]"}}),
        "tokenizer",
    ),
    Broken("tokenizer.json garbage", write("tokenizer.json", b"\x89PNG garbage"), "not valid JSON"),
    Broken("tokenizer.json a list", write("tokenizer.json", "[]"), "JSON object"),
    Broken("lowercasing a string", tokenizer_setting(do_lower_case="yes"), "tokenizer"),
    Broken("unk token a number", write("special_tokens_map.json", '{"unk_token": 7}'), "unk_token"),
    Broken(
        "special tokens not in the vocabulary",
        write("special_tokens_map.json", '{"unk_token": "[NOPE]", "cls_token": "<s>"}'),
        "lacks [NOPE], <s>",
    ),
    Broken("no tokenizer files", remove("tokenizer.json", "vocab.txt"), "vocab"),
    # --- vocabularies that do not fit the model
    Broken("vocabulary without [UNK]", vocab_without("[UNK]"), "[UNK]"),
    Broken("vocabulary without [CLS] and [SEP]", vocab_without("[CLS]", "[SEP]"), "[CLS]"),
    Broken("vocabulary without [MASK]", vocab_without("[MASK]"), "[MASK]"),
    Broken("empty vocab.txt", both(remove("tokenizer.json"), write("vocab.txt", "")), "is empty"),
    Broken("vocab.txt with a duplicate", vocab_with_duplicate(2001, 1001), "twice"),
    Broken(
        "vocab.txt not UTF-8",
        both(remove("tokenizer.json"), write("vocab.txt", b"\xff\xfe")),
        "UTF-8",
    ),
    Broken("ids beyond the embeddings", added_token_with_id(99_999), "has ids up to 30522"),
    Broken("more tokens than embeddings", shrink_embeddings(30_000), "do not belong together"),
    Broken(
        "vocab.txt longer than the embeddings",
        both(remove("tokenizer.json"), shrink_embeddings(1_000)),
        "lists 30,522 tokens",
    ),
    # --- weights
    Broken("no weights", remove("model.safetensors"), "weights"),
    Broken(
        "garbage pytorch_model.bin",
        both(remove("model.safetensors"), write("pytorch_model.bin", bytes(range(256)) * 16)),
        "truncated or corrupt (not a PyTorch file)",
    ),
    Broken("truncated weights", truncate_weights(4096), "weights"),
    Broken("garbage weights", write("model.safetensors", b"\x00" * 64), "weights"),
    Broken("weights of another width", config(hidden_size=64), "does not match its config"),
    Broken("config vocabulary smaller than the weights'", config(vocab_size=30_000), "30,522"),
    Broken("wider feed-forward than the weights'", config(intermediate_size=64), "intermediate"),
    Broken(
        "256 wide layers over a tiny checkpoint",
        config(num_hidden_layers=256, hidden_size=512, num_attention_heads=8),
        "does not match its config",
    ),
    Broken(
        "256 wide layers over a tiny pickled checkpoint",
        both(
            pickled_weights, config(num_hidden_layers=256, hidden_size=512, num_attention_heads=8)
        ),
        "does not match its config",
    ),
    Broken(
        "weights index a list",
        weights_replaced_by("model.safetensors.index.json", write_to("[]")),
        "weight_map",
    ),
    Broken(
        "weights shard outside the folder",
        weights_replaced_by(
            "model.safetensors.index.json",
            write_to('{"weight_map": {"a": "../../etc/passwd"}}'),
        ),
        "outside its folder",
    ),
    Broken("fewer layers than weights", config(num_hidden_layers=2), "more weights than"),
    Broken("more layers than weights", config(num_hidden_layers=6), "does not match"),
]

LOADABLE: list[tuple[str, Callable[[Path], None]]] = [
    ("a 6 MB trainer_state.json the load never reads", sparse("trainer_state.json", 6 * 1024**2)),
    ("max length infinity", tokenizer_setting(model_max_length=float("inf"))),
    ("max length 1e30", tokenizer_setting(model_max_length=1e30)),
    ("max length null", tokenizer_setting(model_max_length=None)),
    ("max length 64", tokenizer_setting(model_max_length=64)),
    (
        "max length a 401-digit number",
        write("tokenizer_config.json", '{"model_max_length": 1' + "0" * 400 + "}"),
    ),
    ("RoBERTa", config(model_type="roberta", pad_token_id=1)),
    ("pickled weights", pickled_weights),
]


def build_folder(good: Path, target: Path, build: Callable[[Path], None]) -> Path:
    """A copy of the good folder ``good`` at ``target``, broken by ``build``."""
    shutil.copytree(good, target)
    build(target)
    return target
