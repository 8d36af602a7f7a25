"""The one-line description of a loaded model, for the status bar (and anything else).

Pure text over a ModelInfo, so the window and tests say the same thing, and so the line can
mention what the user would otherwise not know: that the weights were upcast to float32.
"""

from __future__ import annotations

from explorer.core.results import ModelInfo

COMPUTE_DTYPE = "float32"


def model_status_text(info: ModelInfo) -> str:
    """Source, type and sizes; plus the stored dtype when it is not what the model computes in.

    The explorer always computes in float32, so a bfloat16 or float16 checkpoint gives
    slightly different numbers than the same model run in half precision elsewhere.
    """
    text = (
        f"{info.source} · {info.model_type} · {info.num_layers} layers · "
        f"{info.num_heads} heads · d={info.hidden_size}"
    )
    if info.stored_dtype != COMPUTE_DTYPE:
        text += f" · stored as {info.stored_dtype}, computed in {COMPUTE_DTYPE}"
    return text
