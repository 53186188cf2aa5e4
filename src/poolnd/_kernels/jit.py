"""What every Numba kernel module shares: the compile options.

Imported only by the Numba modules (``numba_*.py`` of each kernel family), which the
selectors load on first use, so ``import poolnd`` never loads Numba.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SERIAL"]

# cache: compiled code is kept on disk across processes; nogil: kernels release the GIL (the
# launcher runs their chunks from several threads at once); error_model numpy: division by
# zero gives inf/NaN as in NumPy, with no exception check.
SERIAL: dict[str, Any] = {"nogil": True, "cache": True, "error_model": "numpy"}
