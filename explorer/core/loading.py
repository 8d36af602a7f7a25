"""Turn a ModelSource into a tokenizer + eager-attention encoder, or a message saying why not.

Every failure becomes a ModelLoadError whose text says what is wrong and how to fix it; the
caller keeps its previous model.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from explorer.core.anatomy import parameter_table
from explorer.core.capture import IN_PLACE_ATTENTION, use_in_place_attention
from explorer.core.checkpoint_dtype import stored_dtype
from explorer.core.errors import ModelLoadError
from explorer.core.heads.choice import (
    NO_HEAD,
    SEQUENCE_CLASSIFICATION,
    TOKEN_CLASSIFICATION,
    HeadChoice,
    choose_head,
    head_labels,
    untrained_head_note,
)
from explorer.core.heads.modules import HeadRuntime, head_runtime, no_head
from explorer.core.heads.sentence import SENTENCE_FILES
from explorer.core.model_checks import (
    JSON_LIMITS,
    PADDING_OFFSET_TYPES,
    TEXT_LIMITS,
    check_added_token_count,
    check_checkpoint_matches,
    check_folder_files,
    check_listed_sizes,
    check_memory,
    check_token_types,
    check_tokenizer_json,
    check_vocab_file,
    check_vocabulary,
    checkpoint_shapes,
    read_json_bounded,
    validate_config,
    validate_tokenizer_config,
)
from explorer.core.results import ModelInfo
from explorer.core.sources import ModelSource, SourceKind, embedded_model_path
from explorer.core.tokenization import special_token_table, tokenizer_kind

# Families whose AutoModel gives per-layer attentions and hidden states the explorer reads:
# BERT-like encoders, ALBERT (one layer shared across depth), DeBERTa-v2 (disentangled
# attention, returned by its eager path) and GPT-2 (causal).
SUPPORTED_MODEL_TYPES = frozenset(
    {
        "bert",
        "roberta",
        "xlm-roberta",
        "camembert",
        "electra",
        "distilbert",
        "albert",
        "deberta-v2",
        "gpt2",
    }
)
_POOLER_PREFIXES = ("pooler.",)


@dataclass
class LoadedModel:
    """A tokenizer and model pair; only the worker thread (or a script) ever holds one.

    ``model`` is the encoder the explorer hooks; ``head`` holds the checkpoint's prediction
    head, whose model (``head.runner``) runs that encoder and the head in one forward pass.
    """

    tokenizer: Any
    model: Any
    info: ModelInfo
    head: HeadRuntime | None = None

    def __post_init__(self) -> None:
        if self.head is None:
            self.head = no_head(self.model)

    @property
    def runner(self) -> Any:
        """The module one forward pass calls: the head model, or the encoder without a head."""
        assert self.head is not None
        return self.head.runner


def _quiet_transformers() -> None:
    """Silence progress bars and the long-input warning: the GUI shows its own notices."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def _resolve(source: ModelSource) -> tuple[str, bool]:
    """Return (what to pass to from_pretrained, local_files_only)."""
    if source.kind is SourceKind.EMBEDDED:
        return str(embedded_model_path()), True
    if source.kind is SourceKind.FOLDER:
        folder = Path(source.location)
        if not folder.exists():
            raise ModelLoadError(f"The folder {folder} does not exist.")
        if not folder.is_dir():
            raise ModelLoadError(f"{folder} is a file; choose the folder that holds config.json.")
        if not os.path.lexists(folder / "config.json"):
            raise ModelLoadError(
                f"{folder} has no config.json, so it is not a Hugging Face model folder. "
                "Choose the folder made by save_pretrained()."
            )
        return str(folder), True
    return source.location, False


def _hub_folder(repo_id: str) -> Path | None:
    """A hub model's files to check: fetched now when online, else the cached snapshot."""
    fetched = None if _offline() else _fetch_hub_files(repo_id)
    return fetched if fetched is not None else _cached_hub_folder(repo_id)


def _cached_hub_folder(repo_id: str) -> Path | None:
    """The local snapshot of a hub model whose config.json is already in the cache."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # a malformed id or cache: the load itself will say what is wrong
        return None
    return Path(found).parent if isinstance(found, str) else None


# The hub files check_model_folder reads or bounds: fetched (sizes checked first) before
# transformers reads any of them. Exact names match only the repository's top folder.
_HUB_CHECKED_FILES = sorted({*JSON_LIMITS, *TEXT_LIMITS, *SENTENCE_FILES})


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip() not in ("", "0", "false", "False")


def _fetch_hub_files(repo_id: str) -> Path | None:
    """Download a hub model's config and tokenizer files, their listed sizes checked first.

    transformers reads each file as it downloads it; fetched here, check_model_folder sees
    them first. None when the hub cannot be reached: the cache, or the load, then says more.
    """
    from huggingface_hub import snapshot_download

    try:
        planned = snapshot_download(repo_id, allow_patterns=_HUB_CHECKED_FILES, dry_run=True)
    except Exception:  # offline, unknown or gated repository: from_pretrained says which
        return None
    if not isinstance(planned, str):
        check_listed_sizes([(item.filename, item.file_size) for item in planned], repo_id)
    try:
        return Path(snapshot_download(repo_id, allow_patterns=_HUB_CHECKED_FILES))
    except Exception:
        return None


def check_model_folder(folder: Path) -> None:
    """Every check a model folder passes before transformers reads any of it.

    Bounded, regular files; a config of sane types and sizes that fits in memory and ships
    no code; weights of the config's sizes; tokenizer settings of usable values; a
    vocabulary that fits the embeddings.
    """
    check_folder_files(folder)
    config_path = folder / "config.json"
    raw = read_json_bounded(config_path, JSON_LIMITS["config.json"], "The config")
    _refuse_custom_code(config_path, raw)
    validate_config(raw, str(config_path))
    _refuse_other_families(raw.get("model_type"), str(folder))
    check_memory(raw, str(folder))
    if (shapes := checkpoint_shapes(folder)) is not None:
        check_checkpoint_matches(raw, shapes, str(folder))
    for name in ("tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"):
        path = folder / name
        if os.path.lexists(path):
            settings = read_json_bounded(path, JSON_LIMITS[name], "The tokenizer file")
            check_added_token_count(name, settings, str(path))
            if name == "tokenizer_config.json":
                validate_tokenizer_config(settings, str(path))
    rows = raw.get("vocab_size")  # validated: a whole number in range, or absent
    tokenizer_json, vocab_file = folder / "tokenizer.json", folder / "vocab.txt"
    if os.path.lexists(tokenizer_json):
        limit = JSON_LIMITS["tokenizer.json"]
        settings = read_json_bounded(tokenizer_json, limit, "The tokenizer file")
        check_tokenizer_json(settings, str(tokenizer_json), rows)
    elif os.path.lexists(vocab_file):
        check_vocab_file(vocab_file, rows)  # the tokenizer is built from it


def _refuse_other_families(model_type: object, location: str) -> None:
    """Only encoders whose outputs the explorer knows how to read (checked before building)."""
    if model_type is not None and model_type not in SUPPORTED_MODEL_TYPES:
        raise ModelLoadError(
            f"{location} is a '{model_type}' model. The explorer shows BERT-family encoders "
            f"and GPT-2 only ({', '.join(sorted(SUPPORTED_MODEL_TYPES))}); encoder-decoder "
            "(T5, BART) and vision models are not supported. Pick one of those."
        )


def _refuse_custom_code(config_path: Path, raw: Any) -> None:
    """Custom modelling code would run arbitrary Python: we never enable trust_remote_code."""
    if not isinstance(raw, dict):
        raise ModelLoadError(f"{config_path} does not hold a JSON object.")
    if raw.get("auto_map"):
        raise ModelLoadError(
            f"{config_path.parent} ships custom model code (auto_map in config.json). "
            "The explorer never runs downloaded code (trust_remote_code stays off); "
            "use a standard BERT checkpoint."
        )


def _hub_message(name: str, err: Exception) -> str:
    reason = "HF_HUB_OFFLINE is set" if _offline() else "the hub could not be reached"
    return (
        f"Could not load '{name}' from the Hugging Face hub: {reason} and it is not in the "
        "local cache (~/.cache/huggingface/hub, or HF_HOME). Connect and unset HF_HUB_OFFLINE "
        "to download it once, or pick a local folder. "
        f"Details: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    )


LoadProgress = Callable[[str, int], None]
"""Called with (stage, percent) between loading stages; raising LoadCancelledError stops."""


class LoadCancelledError(ModelLoadError):
    """The user cancelled a load; the previous model stays."""


def _no_progress(_stage: str, _percent: int) -> None:
    return None


def load_model(source: ModelSource, progress: LoadProgress = _no_progress) -> LoadedModel:
    """Load a BERT-family encoder with eager attention so attention weights are returned.

    ``progress`` is told each stage; it may raise LoadCancelledError to stop between stages
    (a running ``from_pretrained`` cannot be interrupted, so its result is then discarded).
    Whatever goes wrong on the way ends as a ModelLoadError naming the stage: a model folder
    is data from anywhere, and no file in it may bring a traceback.
    """
    stage = "checking the source"

    def report(name: str, percent: int) -> None:
        nonlocal stage
        stage = name.lower()
        progress(name, percent)

    try:
        return _load_model(source, report)
    except ModelLoadError:
        raise
    except Exception as err:
        detail = " ".join(str(err).split())[:300]
        raise ModelLoadError(
            f"Could not load {source.spec} while {stage}: {type(err).__name__}: {detail}"
        ) from err


def _load_model(source: ModelSource, progress: LoadProgress) -> LoadedModel:
    progress("Checking the source", 0)
    location, local_only = _resolve(source)
    checked = source.kind is not SourceKind.HUB
    folder: Path | None = Path(location) if checked else None
    if folder is not None:
        check_model_folder(folder)
    elif (hub_folder := _hub_folder(location)) is not None:
        check_model_folder(hub_folder)
        checked, folder = True, hub_folder
    _quiet_transformers()
    import transformers
    from transformers import AutoConfig, AutoTokenizer

    common: dict[str, Any] = {"trust_remote_code": False}
    if local_only:
        common["local_files_only"] = True

    progress("Reading the config", 10)
    try:
        config = AutoConfig.from_pretrained(location, **common)
    except OSError as err:
        if source.kind is SourceKind.HUB:
            raise ModelLoadError(_hub_message(location, err)) from err
        raise ModelLoadError(f"Could not read the config in {location}: {err}") from err
    except ValueError as err:  # unknown families are refused before; this is a bad field
        raise ModelLoadError(
            f"transformers could not read the config in {location}: "
            f"{' '.join(str(err).split())[:300]}"
        ) from err

    if not checked and (fetched := _cached_hub_folder(location)) is not None:
        check_model_folder(fetched)  # a first download: checked once its files are here
        folder = fetched
    model_type = getattr(config, "model_type", "?")
    _refuse_other_families(model_type, location)

    progress("Loading the tokenizer", 25)
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, use_fast=True, **common)
    except Exception as err:  # tokenizers raise many types for missing or broken files
        raise ModelLoadError(
            f"The tokenizer in {location} could not be loaded: the folder needs a valid "
            "vocab.txt or tokenizer.json (and tokenizer settings of the right types). "
            f"Details: {type(err).__name__}: {' '.join(str(err).split())[:300]}"
        ) from err
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(
            f"{location} has only a slow (Python) tokenizer; the explorer needs a fast one "
            "for character offsets. Add tokenizer.json or vocab.txt."
        )

    check_vocabulary(tokenizer, int(getattr(config, "vocab_size", 0) or 0), location)
    _check_vocabulary(location, tokenizer, config)
    check_token_types(tokenizer, getattr(config, "type_vocab_size", None), location)

    progress("Loading the weights", 40)
    choice = choose_head(config, folder, _checkpoint_keys(folder))
    try:
        full, loading_info = getattr(transformers, choice.auto_class).from_pretrained(
            location,
            config=config,
            attn_implementation="eager",
            # Always float32, whatever the checkpoint stores: transformers 5 would otherwise
            # keep bfloat16/float16 weights, which numpy cannot hold and which round the maps.
            dtype="float32",
            output_loading_info=True,
            weights_only=True,  # a pickled checkpoint is read as tensors only, never executed
            **common,
        )
    except OSError as err:
        if source.kind is SourceKind.HUB:
            raise ModelLoadError(_hub_message(location, err)) from err
        raise ModelLoadError(f"The weights in {location} could not be loaded: {err}") from err
    except Exception as err:  # safetensors raises its own error types for corrupt files
        text = str(err)
        if "weights only load failed" in text.lower() and "GLOBAL" not in text:
            raise ModelLoadError(
                f"The weights in {location} are unreadable: the pickled checkpoint is truncated "
                "or corrupt (not a PyTorch file). Re-save or re-download the model."
            ) from err
        if "weights only load failed" in text.lower():
            raise ModelLoadError(
                f"Refused to load {location}: its pickled checkpoint holds Python objects, not "
                "just tensors, and unpickling those could run code. Nothing was executed. "
                "Convert it to model.safetensors with a trusted tool."
            ) from err
        if "ignore_mismatched_sizes" in str(err):
            raise ModelLoadError(
                f"The checkpoint in {location} does not match its config: some weights have "
                "other shapes than the config's sizes (hidden_size, intermediate_size, "
                "vocab_size, …) say. Fix config.json or re-save the model."
            ) from err
        raise ModelLoadError(
            f"The weights in {location} are unreadable (truncated or corrupt?): "
            f"{type(err).__name__}: {err}"
        ) from err

    model = full.base_model
    has_pooler, head_missing = _check_loading_info(location, config, loading_info, full)
    full.eval()
    head = _head_of(choice, full, head_missing)
    progress("Checking the weights", 95)
    impl = getattr(model.config, "_attn_implementation", "eager")
    if impl != "eager":
        raise ModelLoadError(
            f"{location} loaded with '{impl}' attention, which returns no attention weights."
        )
    # Same operations as eager, computed in the result's own buffer (explorer.core.capture).
    use_in_place_attention(model)

    info = _model_info(source, location, local_only, config, tokenizer, full, has_pooler)
    info = replace(info, **_head_fields(head, tokenizer, config))
    return LoadedModel(tokenizer=tokenizer, model=model, info=info, head=head)


def _checkpoint_keys(folder: Path | None) -> frozenset[str] | None:
    """The weight names the checkpoint holds (from its headers), None when unknown."""
    if folder is None:
        return None
    try:
        shapes = checkpoint_shapes(folder)
    except ModelLoadError:
        return None
    return frozenset(shapes) if shapes is not None else None


def _head_of(choice: HeadChoice, full: Any, head_missing: list[str]) -> HeadRuntime:
    """The head to show: none when its weights were missing (they would be random)."""
    if choice.kind == NO_HEAD:
        return no_head(full, choice.note)
    if head_missing:
        return no_head(full.base_model, untrained_head_note(choice.kind, head_missing))
    return head_runtime(choice.kind, full, choice.pooling)


def _head_fields(head: HeadRuntime, tokenizer: Any, config: Any) -> dict[str, Any]:
    """What the panels know of the head without touching it."""
    fields: dict[str, Any] = {"head": head.kind, "head_note": head.note}
    if head.kind in (SEQUENCE_CLASSIFICATION, TOKEN_CLASSIFICATION):
        fields["head_labels"] = head_labels(config, int(getattr(config, "num_labels", 0) or 0))
    if head.pooling is not None:
        fields["sentence_pooling"] = head.pooling.describe()
    mask_id = getattr(tokenizer, "mask_token_id", None)
    if head.mlm is not None and isinstance(mask_id, int):
        fields["mask_token"] = str(tokenizer.mask_token)
        fields["mask_token_id"] = mask_id
    return fields


def _model_info(
    source: ModelSource,
    location: str,
    local_only: bool,
    config: Any,
    tokenizer: Any,
    model: Any,
    has_pooler: bool,
) -> ModelInfo:
    """What the panels need to know about a loaded model, read once here (family-aware)."""
    check_pair_types(tokenizer, model, location)
    model_type = getattr(config, "model_type", "?")
    impl = getattr(model.config, "_attn_implementation", "eager")
    if impl == IN_PLACE_ATTENTION:
        impl = "eager"  # what the user chose: eager's very operations, computed in place
    return ModelInfo(
        source=source.spec,
        name_or_path=str(getattr(config, "_name_or_path", "") or location),
        model_type=model_type,
        num_layers=int(
            config.num_hidden_layers if hasattr(config, "num_hidden_layers") else config.n_layers
        ),
        num_heads=int(
            config.num_attention_heads if hasattr(config, "num_attention_heads") else config.n_heads
        ),
        hidden_size=int(config.hidden_size if hasattr(config, "hidden_size") else config.dim),
        max_length=_max_length(tokenizer, config),
        vocab_size=len(tokenizer),
        has_pooler=has_pooler,
        attn_implementation=impl,
        intermediate_size=_config_int(config, "intermediate_size", "hidden_dim", "n_inner")
        or 4 * int(config.hidden_size if hasattr(config, "hidden_size") else config.dim),
        max_position_embeddings=_config_int(config, "max_position_embeddings"),
        type_vocab_size=_config_int(config, "type_vocab_size"),
        config_vocab_size=_config_int(config, "vocab_size"),
        special_tokens=special_token_table(tokenizer),
        parameters=parameter_table(model),
        stored_dtype=stored_dtype(location, local_only),
        causal=is_causal(config),
        has_token_types=has_token_types(model),
        shared_layers=has_shared_layers(config),
        tokenizer_kind=tokenizer_kind(tokenizer),
    )


# Families whose self-attention is causal whatever the config says (GPT-2 has no is_decoder).
CAUSAL_TYPES = frozenset({"gpt2"})


def is_causal(config: Any) -> bool:
    """Each token attends only to itself and earlier tokens (the upper triangle is masked)."""
    return getattr(config, "model_type", "") in CAUSAL_TYPES or bool(
        getattr(config, "is_decoder", False)
    )


def has_token_types(model: Any) -> bool:
    """The model reads token_type_ids: its embeddings hold a token-type table.

    DistilBERT and GPT-2 have none, nor DeBERTa-v3 (type_vocab_size 0); RoBERTa's one-row
    table counts (every token is type 0).
    """
    embeddings = getattr(getattr(model, "base_model", model), "embeddings", None)
    return getattr(embeddings, "token_type_embeddings", None) is not None


def check_pair_types(tokenizer: Any, model: Any, location: str) -> None:
    """A pair's token types are rows of the model's type table, whatever the tokenizer lists.

    Inference passes token types to every model that has the table (has_token_types), and
    ALBERT's tokenizer does not list them in model_input_names, so the load's own check
    (check_token_types) skips it: a one-row table would fail on every pair.
    """
    embeddings = getattr(getattr(model, "base_model", model), "embeddings", None)
    table = getattr(embeddings, "token_type_embeddings", None)
    if table is not None:
        check_token_types(tokenizer, table.num_embeddings, location, unlisted=True)


def has_shared_layers(config: Any) -> bool:
    """ALBERT: fewer distinct layer weights than depths (each group runs at several depths)."""
    if getattr(config, "model_type", "") != "albert":
        return False
    groups = int(getattr(config, "num_hidden_groups", 1) or 1)
    inner = int(getattr(config, "inner_group_num", 1) or 1)
    return groups * inner < int(config.num_hidden_layers) * inner


def _check_vocabulary(location: str, tokenizer: Any, config: Any) -> None:
    """Catch a missing or foreign vocabulary before it silently maps every word to [UNK].

    transformers 5 builds an empty tokenizer (special tokens only) when vocab files are missing.
    """
    model_vocab = int(getattr(config, "vocab_size", 0) or 0)
    tokenizer_vocab = len(tokenizer)
    if model_vocab and tokenizer_vocab < model_vocab // 2:
        raise ModelLoadError(
            f"The tokenizer in {location} knows only {tokenizer_vocab} tokens but the model "
            f"has {model_vocab}: the vocabulary (vocab.txt or tokenizer.json) is missing."
        )
    if model_vocab and tokenizer_vocab > model_vocab:
        raise ModelLoadError(
            f"The tokenizer in {location} has {tokenizer_vocab} tokens, more than the model's "
            f"{model_vocab} embeddings: tokenizer and model do not belong together."
        )


def _check_loading_info(
    location: str, config: Any, info: dict[str, Any], full: Any
) -> tuple[bool, list[str]]:
    """Refuse checkpoints that do not match their config.

    Returns whether a trained pooler exists, and the head's weights that are missing (the
    head is then not shown). A missing encoder weight would be silently random-initialised,
    which would make every picture lie: that is an error.
    """
    encoder_keys, head_keys = _split_keys(full, info.get("missing_keys", ()))
    mismatched = [
        str(m[0]) if isinstance(m, tuple) else str(m) for m in info.get("mismatched_keys", ())
    ]
    mismatched_encoder, mismatched_head = _split_keys(full, mismatched)
    missing = sorted(k for k in encoder_keys if not k.startswith(_POOLER_PREFIXES))
    unexpected = sorted(info.get("unexpected_keys", ()))
    layers = getattr(config, "num_hidden_layers", "?")
    if missing or mismatched_encoder:
        example = missing or mismatched_encoder
        raise ModelLoadError(
            f"The checkpoint in {location} does not match its config ({layers} layers): "
            f"{len(missing) + len(mismatched_encoder)} weights are missing or of the wrong "
            f"shape (e.g. {example[0]}). Fix config.json (num_hidden_layers, "
            "add_cross_attention, ...) or re-save the model."
        )
    stray_layers = [k for k in unexpected if ".layer." in k]
    if stray_layers:
        raise ModelLoadError(
            f"The checkpoint in {location} has more weights than its config allows "
            f"({layers} layers), e.g. {stray_layers[0]}. Fix num_hidden_layers in config.json."
        )
    pooler_missing = any(k.startswith(_POOLER_PREFIXES) for k in encoder_keys)
    has_pooler = getattr(full.base_model, "pooler", None) is not None and not pooler_missing
    return has_pooler, sorted(head_keys) + sorted(mismatched_head)


def _split_keys(full: Any, keys: Any) -> tuple[list[str], list[str]]:
    """(encoder keys without the base-model prefix, the head's keys) of a loading report."""
    if full.base_model is full:
        return [str(k) for k in keys], []
    prefix = f"{full.base_model_prefix}."
    encoder = [str(k)[len(prefix) :] for k in keys if str(k).startswith(prefix)]
    head = [str(k) for k in keys if not str(k).startswith(prefix)]
    return encoder, head


def _config_int(config: Any, *names: str) -> int:
    """The first of ``names`` the config has (DistilBERT spells sizes differently), else 0."""
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    return 0


def _max_length(tokenizer: Any, config: Any) -> int:
    """The longest input the model accepts (tokenizers often report a huge sentinel)."""
    positions = int(getattr(config, "max_position_embeddings", 512))
    if getattr(config, "model_type", "") in PADDING_OFFSET_TYPES:
        pad = getattr(config, "pad_token_id", 1)  # positions count from pad_token_id + 1
        positions -= (pad if isinstance(pad, int) else 1) + 1
    stated = getattr(tokenizer, "model_max_length", None)
    limit = positions  # infinity, huge sentinels and nonsense mean "as long as the model allows"
    if isinstance(stated, bool) or not isinstance(stated, int | float):
        return max(4, limit)
    if (isinstance(stated, int) or math.isfinite(stated)) and 0 < stated < positions:
        limit = int(stated)
    return max(4, limit)
