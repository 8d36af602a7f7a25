"""The pool of recycled pages for a result's large arrays: lent out, taken back, reused."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from explorer.core.buffers import POOLED_MIN_BYTES, BufferPool

LARGE = (4, POOLED_MIN_BYTES // 4)  # float32: 4 × 1 MB


@pytest.fixture
def pool():
    gc.disable()  # arrays must come back by reference counting alone
    made = BufferPool(keep_free_bytes=64 << 20)
    yield made
    gc.enable()
    made.clear()


def test_a_pooled_array_is_like_np_empty(pool):
    array = pool.empty(LARGE, np.float32)
    assert array.shape == LARGE and array.dtype == np.float32
    assert array.flags.c_contiguous and array.flags.writeable
    array[...] = 3.0
    assert float(array.sum()) == 3.0 * array.size


def test_small_arrays_are_not_pooled(pool):
    small = pool.empty((10, 10))
    assert small.shape == (10, 10)
    assert pool.mapped == 0


def test_the_pages_of_a_dropped_array_serve_the_next_one(pool):
    first = pool.empty(LARGE)
    address = first.ctypes.data
    del first
    assert pool.free_bytes >= POOLED_MIN_BYTES
    second = pool.empty((3, POOLED_MIN_BYTES // 4))  # smaller, within the waste allowed
    assert second.ctypes.data == address
    assert pool.mapped == 1


def test_a_view_keeps_the_pages_lent_out(pool):
    import torch

    first = pool.empty(LARGE)
    first[...] = 1.0
    row = first[2]
    tensor = torch.from_numpy(first[1:])
    del first
    other = pool.empty(LARGE)
    other[...] = 7.0  # on pages of its own: the views still read their numbers
    assert pool.mapped == 2
    assert float(row.sum()) == row.size and float(tensor.sum()) == tensor.numel()
    del row, tensor
    assert pool.free_bytes > 0


def test_a_much_larger_mapping_is_not_lent_for_a_small_array(pool):
    big = pool.empty((16, POOLED_MIN_BYTES // 4))
    del big
    pool.empty((2, POOLED_MIN_BYTES // 4))  # 2 MB are not lent a 16 MB mapping
    assert pool.mapped == 2


def test_beyond_its_limit_the_pool_unmaps_the_oldest(pool):
    arrays = [pool.empty((8, POOLED_MIN_BYTES // 4)) for _ in range(12)]  # 12 × 8 MB
    del arrays
    assert pool.free_bytes <= 64 << 20
    assert pool.free_bytes > 0
