"""What every Numba kernel module shares: the compile options and the chunk arithmetic.

Imported only by the Numba modules (``numba_*.py`` of each kernel family), which the
selectors load on first use, so ``import poolnd`` never loads Numba.
"""

from __future__ import annotations

from typing import Any

import numba as nb

__all__ = ["PARALLEL", "SERIAL", "chunk_bounds"]

# cache: compiled code is kept on disk across processes; nogil: kernels release the GIL;
# error_model numpy: division by zero gives inf/NaN as in NumPy, with no exception check.
SERIAL: dict[str, Any] = {"nogil": True, "cache": True, "error_model": "numpy"}
PARALLEL: dict[str, Any] = {**SERIAL, "parallel": True}


@nb.njit(**SERIAL)
def chunk_bounds(index, n_chunks, total):  # pragma: no cover - compiled
    """Work items ``[start, stop)`` of chunk ``index`` of ``n_chunks`` over ``total`` items."""
    return index * total // n_chunks, (index + 1) * total // n_chunks
