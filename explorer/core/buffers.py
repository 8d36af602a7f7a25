"""Recycled memory for a result's large arrays, so each inference writes into pages it already has.

A 512-token result at base size is 170 MB of new arrays per inference, allocated while the
previous result is still on show. From the heap, small allocations made meanwhile land in the
hole the previous result leaves, the next result no longer fits there, and the heap grows at
its top: fresh pages, faulted in one by one. On a virtual machine a fault costs up to a
millisecond (the host backs the page only then), so a pass now and then took 0.5–1 s longer.

The pool keeps those arrays out of the heap: each is a private anonymous mapping of its own,
given back to the pool when the last array or view of it is gone (a finalizer on the array
that owns the mapping; numpy's views keep that array alive) and handed out again for the next
array of a similar size. Its pages stay faulted in. At most ``KEEP_FREE_BYTES`` of unused
mappings are kept; beyond that the oldest are unmapped.
"""

from __future__ import annotations

import mmap
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

POOLED_MIN_BYTES = 1 << 20  # smaller arrays are cheap to fault in: plain np.empty
KEEP_FREE_BYTES = 1 << 30
MAX_WASTE = 2.0  # a kept mapping serves an array of at least 1/MAX_WASTE of its size


class BufferPool:
    """Anonymous mappings lent out as arrays and taken back when the arrays are gone."""

    def __init__(self, keep_free_bytes: int = KEEP_FREE_BYTES) -> None:
        self._keep_free_bytes = keep_free_bytes
        self._free: list[mmap.mmap] = []  # oldest first
        self._lock = threading.Lock()
        self.mapped = 0  # mappings made (a test can see reuse)

    @property
    def free_bytes(self) -> int:
        """The size of the mappings kept for reuse."""
        with self._lock:
            return sum(len(buffer) for buffer in self._free)

    def empty(self, shape: Sequence[int] | int, dtype: Any = np.float32) -> np.ndarray:
        """An uninitialised C-contiguous array, like ``np.empty``, on recycled pages if large."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if nbytes < POOLED_MIN_BYTES:
            return np.empty(shape, dtype=dtype)
        buffer = self._take(nbytes)
        array = np.ndarray(shape, dtype=dtype, buffer=buffer)
        finalizer = weakref.finalize(array, self._give_back, buffer)
        finalizer.atexit = False  # at exit the mappings go with the process
        return array

    def clear(self) -> None:
        """Unmap every kept mapping (a model was replaced: its sizes are gone)."""
        with self._lock:
            free, self._free = self._free, []
        for buffer in free:
            buffer.close()

    def _take(self, nbytes: int) -> mmap.mmap:
        with self._lock:
            fitting = [b for b in self._free if nbytes <= len(b) <= max(nbytes * MAX_WASTE, nbytes)]
            if fitting:
                best = min(fitting, key=len)
                self._free.remove(best)
                return best
            self.mapped += 1
        return _anonymous_mapping(nbytes)

    def _give_back(self, buffer: mmap.mmap) -> None:
        """The last array on ``buffer`` is gone (any thread): keep it, or unmap the oldest."""
        dropped = []
        with self._lock:
            self._free.append(buffer)
            total = sum(len(b) for b in self._free)
            while total > self._keep_free_bytes and self._free:
                oldest = self._free.pop(0)
                total -= len(oldest)
                dropped.append(oldest)
        for old in dropped:
            old.close()


def _anonymous_mapping(nbytes: int) -> mmap.mmap:
    """Private memory of its own (Python's default for ``-1`` is shared, i.e. shmem pages)."""
    private = getattr(mmap, "MAP_PRIVATE", None)
    anonymous = getattr(mmap, "MAP_ANONYMOUS", None)
    if private is None or anonymous is None:  # Windows: the default is private already
        return mmap.mmap(-1, nbytes)
    return mmap.mmap(-1, nbytes, flags=private | anonymous)


POOL = BufferPool()


def pooled_empty(shape: Sequence[int] | int, dtype: Any = np.float32) -> np.ndarray:
    """``np.empty`` on the process's pool (see the module docstring)."""
    return POOL.empty(shape, dtype)
