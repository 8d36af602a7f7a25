"""Tokenize a sentence (or pair), run one eager forward pass, and keep every tensor as numpy."""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.core.buffers import pooled_empty
from explorer.core.capture import writing_into
from explorer.core.errors import InputTextError
from explorer.core.finiteness import find_non_finite
from explorer.core.heads.modules import vocabulary_at
from explorer.core.heads.predict import mask_positions, predictions_of
from explorer.core.loading import LoadedModel
from explorer.core.progressive import LayerCallback, LayerProgress
from explorer.core.results import InferenceResult
from explorer.core.views import DisplayViews, build_views, mosaic_geometry
from explorer.core.why.gates import Head, check_heads, knocked_out_heads

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
STRIDED_MAX_FACTOR = 4  # mosaic pooling factors up to this use strided maxima, not amax


def clean_text(text: str | None) -> str:
    """Replace lone surrogates (which the Rust tokenizer cannot encode) one-for-one.

    The replacement keeps every index, so offsets still point into what the user typed.
    """
    return _LONE_SURROGATE.sub("\ufffd", text or "")


@dataclass(frozen=True)
class Encoding:
    """The tokenizer's view of the input, before any model runs."""

    text: str
    pair: str | None
    input_ids: np.ndarray
    token_type_ids: np.ndarray
    offsets: np.ndarray
    special_tokens_mask: np.ndarray
    sequence_ids: np.ndarray
    word_ids: np.ndarray
    tokens: np.ndarray
    unk_mask: np.ndarray
    truncated: bool
    tokens_dropped: int


def encode(loaded: LoadedModel, text: str, pair: str | None = None) -> Encoding:
    """Tokenize with longest-first truncation and report how many tokens were dropped."""
    text = clean_text(text)
    pair = clean_text(pair) if pair is not None else None
    if not text.strip():
        if pair is not None and pair.strip():
            raise InputTextError(
                "Sentence A is empty but sentence B is not. Type the first sentence in A; "
                "B is only the second segment of a pair."
            )
        raise InputTextError("Type a sentence to see what the model does with it.")
    if pair is not None and not pair.strip():
        pair = None

    tokenizer = loaded.tokenizer
    max_length = loaded.info.max_length
    options: dict[str, Any] = {
        "return_offsets_mapping": True,
        "return_special_tokens_mask": True,
        "return_token_type_ids": True,
    }
    # One pass when the input fits (the usual case); a second, truncating one when it does not.
    enc = tokenizer(text, pair, truncation=False, **options)
    full_length = len(enc["input_ids"])
    if full_length > max_length:
        enc = tokenizer(text, pair, truncation="longest_first", max_length=max_length, **options)
    input_ids = np.asarray(enc["input_ids"], dtype=np.int64)
    count = input_ids.shape[0]
    type_ids = enc.get("token_type_ids") or [0] * count
    seq_ids = np.asarray([-1 if s is None else s for s in enc.sequence_ids()], dtype=np.int64)
    word_ids = np.asarray([-1 if w is None else w for w in enc.word_ids()], dtype=np.int64)
    offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(count, 2)
    special = np.asarray(enc["special_tokens_mask"], dtype=bool)
    offsets[special] = 0
    unk_id = tokenizer.unk_token_id
    return Encoding(
        text=text,
        pair=pair,
        input_ids=input_ids,
        token_type_ids=np.asarray(type_ids, dtype=np.int64),
        offsets=offsets,
        special_tokens_mask=special,
        sequence_ids=seq_ids,
        word_ids=word_ids,
        tokens=np.asarray(tokenizer.convert_ids_to_tokens(input_ids.tolist()), dtype=str),
        unk_mask=(input_ids == unk_id) if unk_id is not None else np.zeros(count, bool),
        truncated=full_length > count,
        tokens_dropped=max(0, full_length - count),
    )


def _model_inputs(loaded: LoadedModel, encoding: Encoding) -> dict[str, Any]:
    import torch

    ids = torch.from_numpy(encoding.input_ids).unsqueeze(0)
    inputs: dict[str, Any] = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    # The model's own table decides: ALBERT reads token types though its tokenizer does not
    # list them; DistilBERT, GPT-2 and DeBERTa-v3 have none.
    if loaded.info.has_token_types:
        inputs["token_type_ids"] = torch.from_numpy(encoding.token_type_ids).unsqueeze(0)
    return inputs


_MODULES_SEEN: weakref.WeakKeyDictionary[Any, dict[str, list[Any]]] = weakref.WeakKeyDictionary()


def _recorded_modules(model: Any, key: str) -> list[Any]:
    """The modules transformers hooks to record ``output_<key>``, in layer order.

    transformers 5 records ``output_attentions`` / ``output_hidden_states`` through forward
    hooks on the classes named in ``_can_record_outputs`` (BertSelfAttention and BertLayer,
    RobertaSelfAttention and RobertaLayer, ...); we hook the same modules. An empty list
    means "unknown layout": the caller uses the model's own recorder instead. Found once per
    model: walking every module costs about 0.5 ms, a tenth of a short sentence's pass.
    """
    seen = _MODULES_SEEN.setdefault(model, {})
    if key not in seen:
        spec = (getattr(type(model), "_can_record_outputs", None) or {}).get(key)
        seen[key] = _modules_named_by(model, spec)
    return seen[key]


def _modules_named_by(model: Any, spec: Any) -> list[Any]:
    """The distinct modules a ``_can_record_outputs`` entry names, in call order.

    An entry is a class, or an OutputRecorder whose ``layer_name`` picks among modules of one
    class (GPT-2's GPT2Attention is ".attn", not ".crossattention"). A shared layer (ALBERT)
    is one module, called once per depth; the capture counts calls, not modules.
    """
    if isinstance(spec, type):
        return [m for m in model.modules() if isinstance(m, spec)]
    target = getattr(spec, "target_class", None)
    if not isinstance(target, type) or getattr(spec, "index", 0) not in (0, 1):
        return []
    layer_name = getattr(spec, "layer_name", None)
    wanted = None if layer_name is None else f".{layer_name.strip('.')}."
    return [
        module
        for name, module in model.named_modules()
        if isinstance(module, target) and (wanted is None or wanted in f".{name}.")
    ]


def _first_tensor(value: Any) -> Any:
    """The hidden state in a hook's args or output: a tensor, or the first item of a tuple."""
    if isinstance(value, tuple | list):
        value = value[0] if value else None
    return value if hasattr(value, "shape") else None


class _LayerCapture:
    """Fills preallocated float32 arrays layer by layer as the forward pass goes.

    Attention weights land in the result directly: the in-place attention (explorer.core.
    capture) computes them in the slice ``buffer_for`` hands it, and the hook only checks that
    they are there (or copies them, for a model still on transformers' eager attention). The
    hook also derives that layer's mosaic tiles for the overview while its
    weights are still in cache, and each layer's hidden state and its norms are copied.

    The model runs with ``output_attentions=False`` and ``output_hidden_states=False``, so it
    keeps no tensor beyond one layer's working set: at 512 tokens the peak is the result's
    own arrays plus that working set.

    ``on_layer(capture, k, full)`` is called once the weights and mosaic tiles of layer k - 1
    are written (``full`` False; every layer before it is complete), and again once the whole
    layer is (its hidden state and norms too; ``full`` True), for k < L; the last layer is
    complete only once ``tie_last`` has run (see _capture_forward). The capture passes itself: a
    closure over it would be a reference cycle, and the pass's arrays (170 MB at 512 tokens)
    would stay until Python's cyclic collector ran, long after the result was dropped.
    """

    def __init__(
        self,
        attention_modules: list[Any],
        layer_modules: list[Any],
        info: Any,
        count: int,
        on_layer: Callable[[_LayerCapture, int, bool], None] | None = None,
    ) -> None:
        import torch

        self._torch = torch
        layers, heads = info.num_layers, info.num_heads  # depths, not modules (ALBERT shares)
        # On recycled pages (explorer.core.buffers): no page faults for the next result's arrays.
        self.attentions = pooled_empty((layers, heads, count, count))
        self.hidden = pooled_empty((layers + 1, count, info.hidden_size))
        self.norms = np.empty((layers + 1, count), dtype=np.float32)
        self.factor, self.tile = mosaic_geometry(count)
        self.mosaic = pooled_empty((layers * self.tile, heads * self.tile))
        self._attention_t = torch.from_numpy(self.attentions).unsqueeze(1)  # (L, 1, H, T, T)
        self._mosaic_t = torch.from_numpy(self.mosaic).view(layers, self.tile, heads, self.tile)
        # One DisplayViews for the pass: layers handed over early and the final result share
        # it, so a mean of heads made while the pass ran is kept.
        self.display = DisplayViews(
            mosaic=self.mosaic,
            mosaic_factor=self.factor,
            mosaic_tile=self.tile,
            attentions=self.attentions,
        )
        self._on_layer = on_layer
        self.layers_done = 0
        self.attention_done = 0
        # Layers are counted as they run: a shared layer (ALBERT) is one module at every depth.
        self._attention_ids = {id(module) for module in attention_modules}
        self._next_attention = 0
        self._next_hidden = 1
        self._overflow = False
        self._seen_attention = [0] * layers
        self._seen_hidden = [0] * (layers + 1)
        self._handles = [
            module.register_forward_hook(self._attention_hook) for module in attention_modules
        ]
        self._handles.append(layer_modules[0].register_forward_pre_hook(self._input_hook))
        self._handles += [
            module.register_forward_hook(self._hidden_hook) for module in layer_modules
        ]

    def buffer_for(self, module: Any, shape: tuple[int, ...]) -> Any:
        """The slice of the result where ``module`` should write its weights (or None)."""
        index = self._next_attention  # the layer now running: its hook has not fired yet
        if id(module) not in self._attention_ids or index >= len(self._seen_attention):
            return None
        if shape != tuple(self._attention_t.shape[1:]):
            return None
        return self._attention_t[index]

    def _store_hidden(self, index: int, state: Any) -> None:
        if state is None or tuple(state.shape[1:]) != self.hidden.shape[1:]:
            return  # an unknown layout: complete() will say so
        row = state[0]
        self._torch.from_numpy(self.hidden[index]).copy_(row)
        torch = self._torch
        self.norms[index] = torch.linalg.vector_norm(row, dim=-1, dtype=torch.float32).numpy()
        self._seen_hidden[index] += 1

    def _input_hook(self, _module: Any, args: Any) -> None:
        if self._next_hidden == 1:  # the first layer's input only (a shared layer runs again)
            self._store_hidden(0, _first_tensor(args))

    def _hidden_hook(self, _module: Any, _args: Any, output: Any) -> None:
        self._next_hidden += 1
        index = self._next_hidden - 1
        if self._is_depth(index, self._seen_hidden):
            self._store_hidden(index, _first_tensor(output))
            if index < len(self._seen_attention):  # the last layer waits for tie_last
                self.layer_complete(index)

    def layer_complete(self, layers: int) -> None:
        """Announce ``layers`` complete layers, if every one of them was delivered once."""
        if self._on_layer is None or self._overflow or layers != self.layers_done + 1:
            return
        seen = self._seen_attention[layers - 1] == 1 and self._seen_hidden[layers] == 1
        if seen and self._seen_hidden[0] == 1:
            self.layers_done = layers
            self._on_layer(self, layers, True)

    def attention_complete(self, layers: int) -> None:
        """Announce the weights of ``layers`` layers, if the layers before are complete."""
        if self._on_layer is None or self._overflow or layers != self.layers_done + 1:
            return
        if self._seen_attention[layers - 1] == 1 and self._seen_hidden[0] == 1:
            self.attention_done = layers
            self._on_layer(self, layers, False)

    def _is_depth(self, index: int, seen: list[int]) -> bool:
        """Whether a call counted ``index`` is a depth of the model (more calls: incomplete)."""
        if index < len(seen):
            return True
        self._overflow = True
        return False

    def _store_views(self, index: int, weights: Any) -> None:
        """The mosaic tiles of one layer, exactly as views.build_views makes them.

        The tiles are max-pooled over whole blocks of ``factor`` rows, then columns, and the
        short last block on its own (amax over reshaped blocks: max_pool2d is 8× slower here).
        """
        torch = self._torch
        heads = weights[0]
        tiles = self._mosaic_t[index].transpose(0, 1)  # (H, tile, tile) in the mosaic's layout
        factor, count = self.factor, heads.shape[-1]
        if factor == 1:
            tiles.copy_(heads)
            return
        whole = count // factor
        edge = whole * factor
        rows = torch.empty((heads.shape[0], self.tile, count), dtype=heads.dtype)
        strided = factor <= STRIDED_MAX_FACTOR
        # A few element-wise maxima of strided slices beat a reduction over short blocks
        # (0.06 against 0.14 ms a layer at 128 tokens); at 512 tokens amax wins.
        if strided:
            pooled_rows = rows[:, :whole]
            torch.maximum(heads[:, 0:edge:factor], heads[:, 1:edge:factor], out=pooled_rows)
            for offset in range(2, factor):
                torch.maximum(pooled_rows, heads[:, offset:edge:factor], out=pooled_rows)
        else:
            blocks = heads[:, :edge].reshape(-1, whole, factor, count)
            torch.amax(blocks, dim=2, out=rows[:, :whole])
        if edge < count:
            torch.amax(heads[:, edge:], dim=1, out=rows[:, whole])
        if strided:
            pooled = torch.maximum(rows[..., 0:edge:factor], rows[..., 1:edge:factor])
            for offset in range(2, factor):
                torch.maximum(pooled, rows[..., offset:edge:factor], out=pooled)
        else:
            pooled = torch.amax(rows[..., :edge].reshape(-1, self.tile, whole, factor), dim=3)
        tiles[..., :whole] = pooled
        if edge < count:
            tiles[..., whole] = torch.amax(rows[..., edge:], dim=2)

    def _attention_hook(self, _module: Any, _args: Any, output: Any) -> None:
        index = self._next_attention
        self._next_attention += 1
        if not self._is_depth(index, self._seen_attention):
            return
        weights = output[1] if isinstance(output, tuple) and len(output) > 1 else None
        target = self._attention_t[index]
        if weights is None or tuple(weights.shape) != tuple(target.shape):
            return  # SDPA returns no weights; complete() will say so
        if weights.data_ptr() != target.data_ptr():
            target.copy_(weights)  # eager attention wrote elsewhere
        self._store_views(index, target)
        self._seen_attention[index] += 1
        self.attention_complete(index + 1)

    def complete(self) -> bool:
        """Every layer delivered its weights and hidden state exactly once."""
        seen = self._seen_attention + self._seen_hidden
        return not self._overflow and all(n == 1 for n in seen)

    def tie_last(self, last_hidden_state: Any) -> None:
        """The last hidden state is the model's ``last_hidden_state``, as transformers ties it."""
        if last_hidden_state is not None and self.hidden.shape[0] > 1:
            self._seen_hidden[-1] = 0
            self._store_hidden(self.hidden.shape[0] - 1, last_hidden_state)

    def views(self) -> DisplayViews:
        """The display views the hooks filled in."""
        return self.display

    def remove(self) -> None:
        """Detach the hooks (the model outlives this one forward pass)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


def _float32_numpy(tensor: Any) -> np.ndarray:
    """A torch tensor as a float32 array (a view when it already is float32).

    Models load in float32 (load_model asks for it), but numpy has no bfloat16, so a model
    that slipped through in another dtype must still give float32 arrays, never a TypeError.
    """
    import torch

    if tensor.dtype != torch.float32:
        tensor = tensor.to(torch.float32)
    return np.asarray(tensor.numpy(), dtype=np.float32)


def _copy_layers(tensors: list[Any]) -> np.ndarray:
    """Stack (1, ...) torch tensors into one new float32 array, freeing each after its copy."""
    stacked = np.empty((len(tensors), *tuple(tensors[0].shape[1:])), dtype=np.float32)
    for layer in range(len(tensors)):
        stacked[layer] = _float32_numpy(tensors[layer][0])
        tensors[layer] = None
    return stacked


def _forward(loaded: LoadedModel, encoding: Encoding, *, record: bool) -> tuple[Any, Any]:
    """One pass of the head model: (its outputs, the encoder's outputs within it).

    The vocabulary projection of a masked-LM head runs only at the mask tokens (see
    heads.modules.vocabulary_at); other positions are asked for on demand.
    """
    import torch

    assert loaded.head is not None
    seen: list[Any] = []
    hook = loaded.model.register_forward_hook(lambda _m, _a, output: seen.append(output))
    masks = mask_positions(encoding.input_ids, loaded.info.mask_token_id)
    try:
        with torch.inference_mode(), vocabulary_at(loaded.head, masks):
            outputs = loaded.runner(
                **_model_inputs(loaded, encoding),
                output_attentions=record,
                output_hidden_states=record,
                return_dict=True,
            )
    finally:
        hook.remove()
    return outputs, (seen[-1] if seen else outputs)


@dataclass(frozen=True)
class _Captured:
    attentions: np.ndarray
    hidden: np.ndarray
    norms: np.ndarray
    pooled: Any
    views: DisplayViews | None  # None: build them from the result afterwards
    head_outputs: Any  # what the head model returned (logits, ...)
    last_hidden: Any  # the encoder's last hidden state, (1, T, D) torch


def _capture_forward(
    loaded: LoadedModel,
    encoding: Encoding,
    on_layer: Callable[[_LayerCapture, int, bool], None] | None = None,
) -> _Captured | None:
    """One hooked forward pass, or None when the hooks do not fit this model.

    ``on_layer(capture, k, full)`` is called as soon as the first k layers' weights are written
    (``full`` False) and once they are complete (``full`` True).
    """
    attention_modules = _recorded_modules(loaded.model, "attentions")
    layer_modules = _recorded_modules(loaded.model, "hidden_states")
    layers = loaded.info.num_layers
    # As many modules as layers, or fewer when layers share weights (ALBERT): calls are counted.
    if not attention_modules or not layer_modules or layers < len(layer_modules) or layers == 0:
        return None
    capture = _LayerCapture(
        attention_modules,
        layer_modules,
        loaded.info,
        encoding.input_ids.shape[0],
        on_layer,
    )
    try:
        with writing_into(capture.buffer_for):
            outputs, encoded = _forward(loaded, encoding, record=False)
    finally:
        capture.remove()
    last_hidden = getattr(encoded, "last_hidden_state", None)
    capture.tie_last(last_hidden)
    if not capture.complete():
        return None
    capture.layer_complete(layers)  # the last hidden state is now the one the result keeps
    return _Captured(
        capture.attentions,
        capture.hidden,
        capture.norms,
        encoded.get("pooler_output"),
        capture.views(),
        outputs,
        last_hidden,
    )


def _recorded_forward(loaded: LoadedModel, encoding: Encoding) -> _Captured:
    """The model's own recorder (output_attentions=True), then one copy of each tensor."""
    import torch

    outputs, encoded = _forward(loaded, encoding, record=True)
    layer_attentions = list(outputs.attentions or ())
    if not layer_attentions or any(a is None for a in layer_attentions):
        raise RuntimeError(
            "The model returned no attention weights (SDPA or flash attention slipped in); "
            "it must be loaded with attn_implementation='eager'."
        )
    layer_states = list(outputs.hidden_states)
    pooled = encoded.get("pooler_output")
    last_hidden = layer_states[-1]
    # The lists above now own the tensors, so each is freed right after its copy.
    outputs.attentions = outputs.hidden_states = None
    norms = np.stack(
        [torch.linalg.vector_norm(s[0], dim=-1, dtype=torch.float32).numpy() for s in layer_states]
    )
    return _Captured(
        _copy_layers(layer_attentions),
        _copy_layers(layer_states),
        norms,
        pooled,
        None,
        outputs,
        last_hidden,
    )


def _result(
    loaded: LoadedModel,
    encoding: Encoding,
    heads: tuple[Head, ...],
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
    **outputs: Any,
) -> InferenceResult:
    """The result of ``encoding``: (attentions, hidden states, norms) and the head's outputs."""
    attentions, hidden, norms = arrays
    return InferenceResult(
        text=encoding.text,
        pair=encoding.pair,
        input_ids=encoding.input_ids,
        tokens=encoding.tokens,
        token_type_ids=encoding.token_type_ids,
        offsets=encoding.offsets,
        special_tokens_mask=encoding.special_tokens_mask,
        sequence_ids=encoding.sequence_ids,
        word_ids=encoding.word_ids,
        unk_mask=encoding.unk_mask,
        attentions=attentions,
        hidden_states=hidden,
        hidden_norms=norms,
        model=loaded.info,
        truncated=encoding.truncated,
        tokens_dropped=encoding.tokens_dropped,
        knocked_out=heads,
        **outputs,
    )


def _skeleton(
    loaded: LoadedModel, encoding: Encoding, heads: tuple[Head, ...], capture: _LayerCapture
) -> InferenceResult:
    """The result-to-be of a pass under way: its encoding, read-only views of its arrays.

    Views: freezing them leaves the pass's own arrays writeable until the final result.
    """
    arrays = (capture.attentions.view(), capture.hidden.view(), capture.norms.view())
    return _result(loaded, encoding, heads, arrays, pooler_output=None)


def _progress_relay(
    loaded: LoadedModel, encoding: Encoding, heads: tuple[Head, ...], on_layer: LayerCallback
) -> Callable[[_LayerCapture, int, bool], None]:
    """The capture's per-layer calls, turned into one LayerProgress that grows."""
    made: list[LayerProgress] = []

    def relay(capture: _LayerCapture, layers: int, full: bool) -> None:
        if not made:
            made.append(LayerProgress(_skeleton(loaded, encoding, heads, capture), capture.display))
        if full:
            made[0].advance(layers)
        else:
            made[0].advance_attention(layers)
        on_layer(made[0])

    return relay


def run_inference_with_views(
    loaded: LoadedModel,
    text: str,
    pair: str | None = None,
    knocked_out: Iterable[Head] = (),
    on_layer: LayerCallback | None = None,
) -> tuple[InferenceResult, DisplayViews]:
    """One forward pass, plus the display views derived during it (see _LayerCapture).

    ``knocked_out`` heads ((layer, head) from 0) are switched off (gate ξ = 0) in the pass.
    ``on_layer`` is called on this thread each time a layer is complete, with one
    LayerProgress per pass (see explorer.core.progressive); the arrays it shows are the ones
    the returned result holds, so they are the same, bit for bit. A model whose layout the
    hooks do not recognise calls it never.
    """
    encoding = encode(loaded, text, pair)
    heads = check_heads(loaded.info.num_layers, loaded.info.num_heads, knocked_out)
    relay = None if on_layer is None else _progress_relay(loaded, encoding, heads, on_layer)
    with knocked_out_heads(loaded, heads):
        captured = _capture_forward(loaded, encoding, relay) or _recorded_forward(loaded, encoding)
    pooler_output = None
    if loaded.info.has_pooler and captured.pooled is not None:
        pooler_output = _float32_numpy(captured.pooled[0]).copy()

    arrays = (captured.attentions, captured.hidden, captured.norms.astype(np.float32, copy=False))
    predictions = predictions_of(
        loaded,
        captured.head_outputs,
        mask_positions(encoding.input_ids, loaded.info.mask_token_id),
        encoding,
        captured.last_hidden,
    )
    result = _result(
        loaded, encoding, heads, arrays, pooler_output=pooler_output, predictions=predictions
    )
    views = captured.views or build_views(result)
    _find_non_finite(result, views)
    return result, views


def _find_non_finite(result: InferenceResult, views: DisplayViews) -> None:
    """Fill the result's cached ``non_finite`` here, in the worker, from the small arrays.

    The overview mosaic is every layer's weights max-pooled (NaN and +inf survive pooling), so
    it and the norms screen the result in microseconds instead of a pass over the (L, H, T, T)
    weights (20 ms at 512 tokens and base size). The window's notice then costs nothing.
    ``functools.cached_property`` keeps its value in the instance dict: set it there.
    """
    maxima = views.mosaic.reshape(result.num_layers, -1) if result.num_layers else None
    result.__dict__["non_finite"] = find_non_finite(
        result.attentions,
        result.hidden_states,
        result.hidden_norms,
        result.pooler_output,
        attention_maxima=maxima,
    )


def run_inference(
    loaded: LoadedModel, text: str, pair: str | None = None, knocked_out: Iterable[Head] = ()
) -> InferenceResult:
    """One forward pass; each tensor lands once in a preallocated numpy array.

    Attention weights are written into the result by the in-place attention and hidden
    states are copied layer by layer through forward hooks (see _LayerCapture), so torch's
    copies never pile up. A model whose layout the hooks do not recognise runs with the
    model's own output recorder instead.
    """
    return run_inference_with_views(loaded, text, pair, knocked_out)[0]
