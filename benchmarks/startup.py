"""What a new user waits for: the first calls of a fresh process, on an empty and on a warm
Numba cache, in each compile mode (`poolnd.set_compile_mode`), in one table.

Run: ``python benchmarks/startup.py [--rounds N]``. Every measurement is a fresh
interpreter with its own ``NUMBA_CACHE_DIR``: empty for the cold rows, filled beforehand (by
a process in 'wait' mode running the same code) for the warm ones. Rows:

* ``README block``: the README's first code block, run as a script. ``block s`` is the time
  from the script's first line to its last (what the user waits for the answers); ``process
  s`` the whole interpreter, start-up and exit included (in 'background' mode the exit
  waits for a compilation in flight);
* ``three calls``: ``max_pool2d(x, 3, 2, 1)``, ``avg_pool2d(x, 2)`` and ``poolnd.vjp`` of the
  max with its pullback, on an (8, 64, 112, 112) float32 ``x``, each call timed, after
  ``import poolnd`` (timed apart).

Medians over ``--rounds`` fresh runs (default 3).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

THREE_CALLS = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
import poolnd
import poolnd.functional as F
t_import = time.perf_counter() - t0
x = np.random.default_rng(0).standard_normal((8, 64, 112, 112), dtype=np.float32)
g = np.ones((8, 64, 56, 56), np.float32)
times = []
for call in (lambda: F.max_pool2d(x, 3, 2, 1), lambda: F.avg_pool2d(x, 2),
             lambda: poolnd.vjp(F.max_pool2d, x, 3, 2, 1)[1](g)):
    t = time.perf_counter()
    call()
    times.append(time.perf_counter() - t)
print(json.dumps({"import": t_import, "calls": times}))
"""


def readme_block() -> str:
    """The README's first Python code block, timed from its first line to its last."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S)
    assert block is not None, "the README has no python code block"
    return ("import json as _json, time as _time\n_t0 = _time.perf_counter()\n"
            + block.group(1)
            + "print(_json.dumps({'block': _time.perf_counter() - _t0}))\n")


def run(code: str, cache: str, mode: str) -> tuple[dict, float]:
    """``code`` in a fresh interpreter: its JSON line and the process's wall time."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "POOLND_COMPILE": mode}
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - t
    return json.loads(out.stdout.strip().splitlines()[-1]), wall


def measure(code: str, mode: str, warm: bool, rounds: int) -> list[tuple[dict, float]]:
    results = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as cache:
            if warm:
                run(code, cache, "wait")  # fills the cache with every kernel the code needs
            results.append(run(code, cache, mode))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    block = readme_block()
    print(f"{os.uname().machine}, {os.cpu_count()} CPUs; medians of {args.rounds} fresh "
          "processes each\n")
    print("| code | cache | mode | import s | max s | avg s | vjp s | calls / block s "
          "| process s |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for name, code in (("README block", block), ("three calls", THREE_CALLS)):
        for warm in (False, True):
            for mode in ("background", "wait"):
                res = measure(code, mode, warm, args.rounds)
                wall = statistics.median(w for _, w in res)
                if "calls" in res[0][0]:
                    calls = [statistics.median(r["calls"][i] for r, _ in res) for i in range(3)]
                    total = statistics.median(sum(r["calls"]) for r, _ in res)
                    imp = statistics.median(r["import"] for r, _ in res)
                    cells = [f"{imp:.2f}", *(f"{c:.2f}" for c in calls), f"{total:.2f}"]
                else:
                    cells = ["", "", "", "", f"{statistics.median(r['block'] for r, _ in res):.2f}"]
                print(f"| {name} | {'warm' if warm else 'empty'} | {mode} | "
                      + " | ".join(cells) + f" | {wall:.2f} |", flush=True)


if __name__ == "__main__":
    main()
