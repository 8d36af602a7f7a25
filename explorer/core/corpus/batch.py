"""The sums one padded batch adds to the corpus statistics, computed on the model's device.

Every statistic is a sum over real query rows (padding excluded, as rows and as keys), so a
corpus's value is a sum of batches' sums divided by a count: pooled over every row of every
segment, never averaged per segment first, and the sums of shards add up to one run's.
Attention maps are reduced layer by layer and dropped; only (L, H)-sized sums leave.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.core.analysis.head_stats import SMOOTHING

MAX_OFFSET = 10
OFFSETS = np.arange(-MAX_OFFSET, MAX_OFFSET + 1)  # column k of head_offsets is offset k − 10
KEY_ROLES = ("cls", "sep", "punct")


@dataclass(frozen=True)
class BatchMasks:
    """(B, T) masks of a padded batch, as float tensors on the model's device."""

    real: Any  # 1 for a token, 0 for padding
    roles: Any  # (B, T, 3): [CLS], [SEP], punctuation keys (zero on padding)
    content: Any  # real and not special: the tokens whose states enter the anisotropy


@dataclass
class HeadSums:
    """Float64 numpy sums of one batch (or a whole corpus) for every head."""

    roles: np.ndarray  # (L, H, 3): attention on [CLS], [SEP], punctuation
    entropy: np.ndarray  # (L, H), Clark's smoothing
    distance: np.ndarray  # (L, H): Σ_j a_ij |i − j|
    offsets: np.ndarray  # (L, H, 21): a_{i, i+k} for k = −10 … 10
    rows: int  # query rows
    offset_rows: np.ndarray  # (21,) rows whose key at offset k exists
    js: np.ndarray | None  # (L·H, L·H): Σ_rows JS(head i's row, head j's row)


def head_sums(attentions: list[Any], masks: BatchMasks, *, js: bool) -> HeadSums:
    """Reduce each layer's (B, H, T, T) weights to sums over real rows, one layer at a time."""
    import torch

    real = masks.real
    count = real.sum(dim=1)  # (B,) real tokens per segment: Clark's T
    width = real.shape[1]
    positions = torch.arange(width, device=real.device, dtype=torch.float32)
    distance = (positions[:, None] - positions[None, :]).abs()
    key_mask = real[:, None, None, :]
    row_mask = real[:, None, :]
    smoothing = (SMOOTHING / count)[:, None, None, None]
    roles, entropy, distances, offsets = [], [], [], []
    no_offset = torch.zeros(attentions[0].shape[1], dtype=torch.float32, device=real.device)
    for a in attentions:
        kept = a * real[:, None, :, None]  # padded rows out (padded keys have weight 0)
        roles.append(torch.einsum("bhqk,bkr->hr", kept, masks.roles))
        pooled = kept.sum(dim=0)  # (H, T, T): the batch's rows, by query and key position
        distances.append((pooled * distance).sum(dim=(1, 2)))
        offsets.append(
            torch.stack(
                [
                    torch.diagonal(pooled, int(k), -2, -1).sum(-1)
                    if abs(int(k)) < width
                    else no_offset
                    for k in OFFSETS
                ],
                dim=-1,
            )
        )
        smoothed = a.mul(1.0 - SMOOTHING).add_(smoothing)
        terms = torch.special.xlogy(smoothed, smoothed).mul_(key_mask)
        entropy.append(_row_sum(-terms.sum(-1), row_mask))
    offset_rows = np.array(
        [int(real[:, abs(int(k)) :].sum().item()) if abs(int(k)) < width else 0 for k in OFFSETS],
        dtype=np.int64,
    )
    return HeadSums(
        roles=_numpy(torch.stack(roles)),
        entropy=_numpy(torch.stack(entropy)),
        distance=_numpy(torch.stack(distances)),
        offsets=_numpy(torch.stack(offsets)),
        rows=int(real.sum().item()),
        offset_rows=offset_rows,
        js=_js_sums(attentions, real) if js else None,
    )


def _row_sum(values: Any, mask: Any) -> Any:
    """Σ over batch and query rows of ``values × mask``, in float64: (H, …)."""
    masked = (values * mask).double()
    return masked.sum(dim=(0, 2))


def _numpy(tensor: Any) -> np.ndarray:
    return np.asarray(tensor.detach().cpu().numpy(), dtype=np.float64)


def _js_sums(attentions: list[Any], real: Any) -> np.ndarray:
    """Σ over real rows of the Jensen–Shannon divergence (nats) between every two heads' rows.

    JS(p, q) = H(m) − (H(p) + H(q)) / 2 with m = (p + q) / 2, as Clark et al.'s
    ``head_distances.py``; padded keys have weight 0 exactly, so they add nothing.
    """
    import torch

    keep = real.bool()
    rows = torch.stack([a.permute(1, 0, 2, 3)[:, keep] for a in attentions])  # (L, H, R, T)
    rows = rows.reshape(-1, *rows.shape[2:]).double()  # (LH, R, T)
    own = -torch.special.xlogy(rows, rows).sum(-1)  # (LH, R)
    heads = rows.shape[0]
    sums = torch.zeros((heads, heads), dtype=torch.float64, device=rows.device)
    for i in range(heads):
        mixed = 0.5 * (rows[i : i + 1] + rows[i:])
        divergence = -torch.special.xlogy(mixed, mixed).sum(-1) - 0.5 * (own[i : i + 1] + own[i:])
        sums[i, i:] = divergence.clamp_min(0.0).sum(-1)
    sums = torch.triu(sums, 1) + torch.triu(sums).T
    return _numpy(sums)


def _unit(states: Any) -> Any:
    """States scaled to length 1 along the last axis (a zero state stays zero)."""
    import torch

    norms = torch.linalg.vector_norm(states, dim=-1, keepdim=True)
    return states / torch.where(norms > 0, norms, torch.ones_like(norms))


def token_unit_sum(states: Any, content: Any) -> np.ndarray:
    """(L+1, D): Σ of content tokens' unit vectors, from which the mean pairwise cosine follows.

    ``states`` (L+1, B, T, D), ``content`` (B, T) 1 for a non-special real token.
    """
    import torch

    return _numpy(torch.einsum("lbtd,bt->ld", _unit(states), content.to(states.dtype)))


def word_unit_sums(
    states: Any, batch: Any, position: Any, occurrence: Any, word: Any, sizes: Any
) -> np.ndarray:
    """(U, L+1, D) float64: per distinct word, Σ over its occurrences of their unit vectors.

    ``states`` is (L+1, B, T, D). Token N (``batch``, ``position``: (N,) long tensors) is a
    piece of occurrence ``occurrence[N]``; each occurrence's state is the mean of its pieces,
    scaled to length 1 per layer, then added to its word ``word[occurrence]`` (``sizes``: (W,)
    pieces each).
    """
    import torch

    pieces = states[:, batch, position]  # (L+1, N, D)
    layers, _, width = pieces.shape
    means = torch.zeros((layers, sizes.shape[0], width), dtype=pieces.dtype, device=pieces.device)
    means.index_add_(1, occurrence, pieces).div_(sizes.to(pieces.dtype)[None, :, None])
    words = int(word.max().item()) + 1
    sums = torch.zeros((layers, words, width), dtype=torch.float64, device=pieces.device)
    sums.index_add_(1, word, _unit(means).double())
    return _numpy(sums.permute(1, 0, 2))
