"""What every Numba kernel module shares: the compile options, and a lighter Numba start.

Imported only by the Numba modules (``numba_*.py`` of each kernel family), which the
selectors load on first use, so ``import poolnd`` never loads Numba.

A lighter start. The first call of any Numba function, even one loaded from the cache,
installs Numba's implementation registries, ``numba.np.arraymath`` among them, and that
module learns at import whether BLAS is there by importing ``scipy.linalg`` (with SciPy's
array-API layer, which imports ``numpy.f2py`` and ``numpy.testing``): a third of a second
of a warm first call, for kernels that call no BLAS. `_import_arraymath` imports that module
first with the probe answering from whether SciPy is installed, without importing it (the
answer only picks how ``np.correlate`` and ``np.convolve`` compile); every BLAS and LAPACK
function of Numba still calls the real probe, which imports SciPy and checks its integer
width, when it is compiled. Nothing changes where ``numba.np.arraymath`` is already imported
or Numba lays its modules out otherwise.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from typing import Any

__all__ = ["SERIAL"]


def _import_arraymath() -> None:
    """Import ``numba.np.arraymath`` with its BLAS probe answered without importing SciPy."""
    if "numba.np.arraymath" in sys.modules:
        return
    try:
        linalg: Any = importlib.import_module("numba.np.linalg")
    except ImportError:  # a Numba laid out otherwise: it starts as it would anyway
        return
    real = getattr(linalg, "ensure_blas", None)
    if real is None:
        return
    owner = threading.get_ident()

    def probe() -> None:
        if threading.get_ident() != owner:
            real()  # another thread compiling a BLAS call meanwhile: the real check
        elif importlib.util.find_spec("scipy") is None:
            raise ImportError("SciPy is required for Numba's linear algebra")

    linalg.ensure_blas = probe
    try:
        arraymath: Any = importlib.import_module("numba.np.arraymath")
    finally:
        linalg.ensure_blas = real
    if getattr(arraymath, "ensure_blas", None) is probe:
        arraymath.ensure_blas = real


_import_arraymath()

# cache: compiled code is kept on disk across processes; nogil: kernels release the GIL (the
# launcher runs their chunks from several threads at once); error_model numpy: division by
# zero gives inf/NaN as in NumPy, with no exception check.
SERIAL: dict[str, Any] = {"nogil": True, "cache": True, "error_model": "numpy"}
