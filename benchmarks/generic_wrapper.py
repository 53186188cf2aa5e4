"""Why each compiled kernel has a hand-written parallel wrapper (`poolnd._kernels.launch`).

Runs, each in a fresh process and twice in a row, the first call of a toy kernel through
(a) its own ``parallel=True`` wrapper and (b) one generic wrapper taking the body as a
dispatcher argument, and prints the first-call time and Numba's on-disk cache hits.
The second process of (a) loads from the cache; (b) compiles again in every process.

    python benchmarks/generic_wrapper.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

KERNEL = textwrap.dedent('''
    import sys, time
    import numba as nb, numpy as np

    @nb.njit(cache=True, nogil=True)
    def body(x, out, start, stop):
        for i in range(start, stop):
            out[i] = x[i] * 2.0

    @nb.njit(cache=True, nogil=True, parallel=True)
    def generic(fn, x, out, n_chunks):
        total = x.shape[0]
        for c in nb.prange(n_chunks):
            fn(x, out, c * total // n_chunks, (c + 1) * total // n_chunks)

    @nb.njit(cache=True, nogil=True, parallel=True)
    def own(x, out, n_chunks):
        total = x.shape[0]
        for c in nb.prange(n_chunks):
            body(x, out, c * total // n_chunks, (c + 1) * total // n_chunks)

    x = np.ones(1000)
    out = np.empty_like(x)
    t = time.perf_counter()
    if sys.argv[1] == "generic":
        generic(body, x, out, 4)
        hits = sum(generic.stats.cache_hits.values())
    else:
        own(x, out, 4)
        hits = sum(own.stats.cache_hits.values())
    print(f"{sys.argv[1]:8} first call {time.perf_counter() - t:5.2f} s, cache hits {hits}")
''')


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "kernel.py"
        script.write_text(KERNEL)
        for form in ("own", "own", "generic", "generic"):
            subprocess.run([sys.executable, str(script), form], check=True)


if __name__ == "__main__":
    main()
