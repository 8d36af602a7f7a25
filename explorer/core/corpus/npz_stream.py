"""npz members written and read a chunk of rows at a time, so neither side holds a whole array.

``np.savez`` needs each array whole in memory, and the word table of a corpus grows with its
vocabulary. An npz is a zip of ``.npy`` members, and a ``.npy`` is a header (dtype, shape)
followed by the raw C-order bytes: writing the header first and then the rows chunk by chunk
into a member opened for writing gives a file that ``np.load`` reads like any other. ZIP64 is
forced because the member's size is not known when it is opened and may pass 4 GB (``np.savez``
does the same). Members are stored, not compressed, so a reader can parse a member's header
and then read its rows in chunks just as sequentially.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from typing import IO, Any

import numpy as np


def open_npz(handle: IO[bytes]) -> zipfile.ZipFile:
    """An npz to write into an open binary file: stored members, ZIP64 allowed (as np.savez)."""
    return zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True)


class NpzWriter:
    """Members written into an npz opened with ``open_npz``, one after the other."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self._zip = archive

    def array(self, name: str, array: Any) -> None:
        """A whole (small) array, as ``np.savez`` writes it."""
        with self._zip.open(f"{name}.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)

    def rows(
        self, name: str, dtype: np.dtype[Any], shape: tuple[int, ...], chunks: Iterable[Any]
    ) -> None:
        """An array of ``shape`` whose rows (along axis 0) arrive in ``chunks``, in order."""
        header = {
            "descr": np.lib.format.dtype_to_descr(dtype),
            "fortran_order": False,
            "shape": shape,
        }
        written = 0
        with self._zip.open(f"{name}.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_2_0(member, header)
            for chunk in chunks:
                block = np.ascontiguousarray(chunk, dtype=dtype)
                if block.shape[1:] != shape[1:]:
                    raise ValueError(f"{name}: a chunk of shape {block.shape} in a {shape} array")
                member.write(block.data)
                written += block.shape[0]
        if written != shape[0]:
            raise ValueError(f"{name}: {written} rows written of {shape[0]}")


class NpyMember:
    """A ``.npy`` member of an open npz, its header parsed, its rows read a chunk at a time."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self.name = name
        self._member = archive.open(f"{name}.npy")
        version = np.lib.format.read_magic(self._member)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(self._member)
        elif version == (2, 0):
            header = np.lib.format.read_array_header_2_0(self._member)
        else:
            raise ValueError(f"{name}: .npy format {version} is not read here")
        shape, fortran_order, dtype = header
        if fortran_order or dtype.hasobject or not shape:
            raise ValueError(f"{name}: not a C-order array of rows")
        self.shape: tuple[int, ...] = tuple(shape)
        self.dtype: np.dtype[Any] = dtype
        self._row_bytes = dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))
        self._left = self.shape[0]

    def read(self, count: int) -> np.ndarray:
        """The next ``count`` rows (fewer at the end), as a read-only array."""
        count = min(count, self._left)
        data = self._member.read(count * self._row_bytes)
        if len(data) != count * self._row_bytes:
            raise ValueError(f"{self.name}: the member ends before its last row")
        self._left -= count
        return np.frombuffer(data, dtype=self.dtype).reshape(count, *self.shape[1:])

    def close(self) -> None:
        """Close the member (the archive stays open)."""
        self._member.close()
