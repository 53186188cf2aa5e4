"""Max unpooling kernels: the scatter of the forward pass and the gather of its gradient.

Arrays arrive as C-contiguous ``(planes, n)`` blocks, the indices int64 and already checked
to lie in ``[0, plane_size)``. Both operations only move data, so they run on an unsigned
integer view of the same item size: every dtype is served by four compiled signatures, and
every bit (signed zeros, NaN payloads) is copied unchanged, as PyTorch copies it.

* `scatter`: a zeroed ``(planes, plane_size)`` output, then ``out[p, idx[p, i]] = src[p, i]``
  for ``i`` in increasing (raster) order, so the last of duplicate indices wins. PyTorch's
  CPU kernel does the same serially (with several threads it may split a plane between
  them, which makes duplicates nondeterministic there; here one plane is always written by
  one thread, so the result is the serial one for any thread count).
* `gather`: ``grad_in[p, i] = grad_out[p, idx[p, i]]``; every duplicate receives the
  gradient of the cell it names (pytorch/pytorch#80204).

Calls with at least `poolnd._threads.UNPOOL_COMPILED_MIN_SIZE` elements run the Numba
kernels (`numba_rows`), in chunks of planes; smaller ones (and empty ones) the NumPy
versions (`numpy_passes`), which give identical results.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _threads as tuning
from ..launch import kernels, launch
from .numpy_passes import gather_numpy, scatter_numpy

__all__ = ["gather", "scatter"]


def _bits(a: np.ndarray) -> np.ndarray:
    """``a`` viewed as unsigned integers of its item size (same bytes)."""
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def _numba_forms() -> Any:
    """The Numba kernels (`numba_rows`), loaded on first use."""
    return kernels("poolnd._kernels.unpool.numba_rows")


def scatter(values: np.ndarray, indices: np.ndarray, plane_size: int) -> np.ndarray:
    """``(planes, plane_size)`` zeros with ``values[p, i]`` written at ``indices[p, i]``.

    Parameters
    ----------
    values : ndarray
        ``(planes, n)``, C-contiguous, native byte order, any dtype of item size 1, 2, 4, 8.
    indices : ndarray
        ``(planes, n)`` int64, C-contiguous, every entry in ``[0, plane_size)``.
    plane_size : int
        Number of cells of each output plane.

    Returns
    -------
    ndarray
        ``(planes, plane_size)`` in the dtype of ``values``; the last of duplicate indices
        (in raster order) wins.

    Examples
    --------
    >>> import numpy as np
    >>> scatter(np.array([[5., 7., 9.]]), np.array([[3, 0, 3]]), 4)
    array([[7., 0., 0., 9.]])
    """
    if values.size >= tuning.UNPOOL_COMPILED_MIN_SIZE:
        out = np.zeros((values.shape[0], plane_size), dtype=values.dtype)
        if launch(_numba_forms().SCATTER_PLANES, values.size, values.shape[0], _bits(values),
                  indices, _bits(out)):
            return out
    return scatter_numpy(values, indices, plane_size)


def gather(grad: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """``grad[p, indices[p, i]]`` for every ``(p, i)``: the adjoint of `scatter` (without
    its overwrite: every duplicate index receives its cell's gradient).

    Parameters
    ----------
    grad : ndarray
        ``(planes, plane_size)``, C-contiguous, native byte order.
    indices : ndarray
        ``(planes, n)`` int64, C-contiguous, every entry in ``[0, plane_size)``.

    Returns
    -------
    ndarray
        ``(planes, n)`` in the dtype of ``grad``.

    Examples
    --------
    >>> import numpy as np
    >>> gather(np.array([[1., 2., 3., 4.]]), np.array([[3, 0, 3]]))
    array([[4., 1., 4.]])
    """
    if indices.size >= tuning.UNPOOL_COMPILED_MIN_SIZE:
        out = np.empty(indices.shape, dtype=grad.dtype)
        if launch(_numba_forms().GATHER_PLANES, indices.size, indices.shape[0], _bits(grad),
                  indices, _bits(out)):
            return out
    return gather_numpy(grad, indices)
