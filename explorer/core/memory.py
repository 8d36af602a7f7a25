"""Keep freed memory in the process, so each inference reuses the pages of the last one.

A 512-token result is hundreds of MB of fresh arrays. glibc serves blocks that large with
mmap and unmaps them when freed, so every inference faults the same amount of memory back in
page by page; on a virtual machine that costs up to 2 ms per MB, more than the forward pass
itself. With these settings freed blocks stay in the heap and are reused,
and at most ``KEEP_FREE_BYTES`` of unused memory is held before the heap is trimmed again.

MKL (torch's BLAS here) keeps its own pool of freed GEMM buffers beside that heap, where nothing
else can reuse them: about 15 MB more at the peak of a 512-token base-size inference, for
no speed gain. ``MKL_DISABLE_FAST_MM`` hands them back to malloc.

``collections_paused`` keeps Python's cyclic garbage collector out of a model load.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

KEEP_FREE_BYTES = 1 << 30
# mallopt parameters, from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Ask glibc to keep and reuse freed memory; False where that is not possible.

    Call it before torch is imported and before the threads that allocate start (MKL reads its
    setting once, and the arena limit applies from then on). Other platforms and C libraries
    keep their default behaviour.
    """
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    os.environ.setdefault("MKL_DISABLE_FAST_MM", "1")  # read when MKL starts, after this
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    settings = (
        (_M_MMAP_MAX, 0),  # large blocks come from the heap, where freed ones are reused
        (_M_TRIM_THRESHOLD, KEEP_FREE_BYTES),  # return memory only beyond this much free
        (_M_ARENA_MAX, 1),  # one heap shared by the threads, so the worker reuses it too
    )
    _applied = all(mallopt(option, value) == 1 for option, value in settings)
    return _applied


def release_freed_memory() -> bool:
    """Hand the heap's free pages and the pool's kept mappings back (a model was replaced).

    Kept memory is for the next inference of the same model; a model dropped for another
    leaves hundreds of MB that would otherwise stay resident. False where glibc is absent.
    """
    from explorer.core.buffers import POOL

    POOL.clear()
    if not keep_freed_memory():
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc_trim(0)
    return True


@contextmanager
def collections_paused() -> Iterator[None]:
    """No cyclic garbage collection in the block (in any thread); afterwards as before.

    A model load imports torch and transformers: 375,000 long-lived objects, and Python's
    collector scans them all again in each full collection it starts meanwhile: in a bare
    load of the embedded model, 6 full collections take 0.76 s of 3.9 s. Paused, the objects
    are collected once after the load and then frozen.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
