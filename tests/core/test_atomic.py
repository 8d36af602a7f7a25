"""Outputs are written whole or not at all, through links, never over a device."""

from __future__ import annotations

import os

import numpy as np
import pytest

from explorer.core.results import save_npz


def test_a_failed_write_keeps_the_earlier_file_and_leaves_nothing(tmp_path):
    out = tmp_path / "r.npz"
    save_npz(out, {"a": np.arange(3)})

    class Broken:
        def __array__(self, *args, **kwargs):
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        save_npz(out, {"a": np.arange(5), "b": Broken()})
    with np.load(out) as data:
        np.testing.assert_array_equal(data["a"], np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.npz"]


def test_a_link_is_written_through_and_a_pipe_is_refused(tmp_path):
    target = tmp_path / "target.npz"
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    save_npz(link, {"a": np.ones(2)})
    assert link.is_symlink() and target.is_file()
    pipe = tmp_path / "pipe.npz"
    os.mkfifo(pipe)
    with pytest.raises(OSError, match="not a regular file"):
        save_npz(pipe, {"a": np.ones(2)})
    assert not pipe.is_file()
