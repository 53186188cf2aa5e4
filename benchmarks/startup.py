"""Start-up cost of poolnd's compiled kernels: import time, first-call compile time per
kernel signature, and the first call in a fresh process once Numba's on-disk cache is warm.

Run: ``python benchmarks/startup.py``. It clears nothing itself; to see cold compile times,
delete the ``__pycache__`` folder of ``poolnd/_kernels`` (Numba keeps its cache there) first.
Each measurement runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import poolnd
import poolnd.functional as F
t_import = time.perf_counter() - t0
heavy = sorted(m for m in ("numba", "llvmlite", "torch") if m in sys.modules)
x = np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(sys.argv[1])
big = np.random.default_rng(0).standard_normal((4, 16, 64, 64)).astype(sys.argv[1])
calls = {
    "max_pool2d": lambda: F.max_pool2d(x, 3, 2, 1),
    "max_pool2d(return_indices)": lambda: F.max_pool2d(x, 3, 2, 1, return_indices=True),
    "avg_pool2d": lambda: F.avg_pool2d(x, 3, 2, 1),
    "max_pool2d backward": lambda: poolnd.vjp(F.max_pool2d, x, 3, 2, 1)[1](
        np.ones((2, 3, 8, 8), x.dtype)),
    "avg_pool2d backward": lambda: poolnd.vjp(F.avg_pool2d, x, 3, 2, 1)[1](
        np.ones((2, 3, 8, 8), x.dtype)),
    # large enough for the parallel kernels, which compile separately
    "max_pool2d parallel": lambda: F.max_pool2d(big, 3, 2, 1),
    "avg_pool2d parallel": lambda: F.avg_pool2d(big, 3, 2, 1),
}
times = {}
for name, call in calls.items():
    if "backward" in name and x.dtype.kind != "f":
        continue
    t = time.perf_counter()
    call()
    times[name] = time.perf_counter() - t
print(json.dumps({"import_s": t_import, "modules_after_import": heavy, "first_call_s": times}))
"""


def probe(dtype: str) -> dict:
    """One fresh interpreter: import time and each kernel's first-call time for ``dtype``."""
    out = subprocess.run([sys.executable, "-c", PROBE, dtype], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    """Print the start-up report as Markdown (first-call times in seconds)."""
    print("| dtype | run | import s | " + " | ".join(
        ["max", "max+indices", "avg", "max bwd", "avg bwd", "max (parallel)",
         "avg (parallel)"]) + " |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for dtype in ("float32", "float64", "int32"):
        for run in ("first (compiles unless cached)", "second (warm cache)"):
            r = probe(dtype)
            cells = [f"{r['first_call_s'].get(k, float('nan')):.3f}" for k in (
                "max_pool2d", "max_pool2d(return_indices)", "avg_pool2d",
                "max_pool2d backward", "avg_pool2d backward", "max_pool2d parallel",
                "avg_pool2d parallel")]
            print(f"| {dtype} | {run} | {r['import_s']:.3f} | " + " | ".join(cells) + " |")
    print(f"\nmodules loaded by `import poolnd`: {probe('float32')['modules_after_import']}")


if __name__ == "__main__":
    main()
