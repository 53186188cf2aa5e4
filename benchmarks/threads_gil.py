"""Thread scaling: T Python threads calling a pooling op at once, each call on one core.

poolnd's kernels release the GIL, so threads that each pool their own arrays run in
parallel; this reports calls per second for 1, 2, 4 threads (every call single-threaded:
``poolnd.set_num_threads(1)``, ``torch.set_num_threads(1)``) and the speed-up over one
thread. The ideal speed-up is min(T, free cores); a GIL held through a call would pin it at 1.

    python benchmarks/threads_gil.py [--seconds S] [--rounds R] [--threads 1,2,4] [--json PATH]

Each round measures every thread count in turn; the table shows the best round of each, so
that a neighbour's burst on a shared machine costs a round, not the result.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable

import numpy as np

import poolnd

F = poolnd.functional


def _cases() -> list[tuple[str, tuple[int, ...], Callable, Callable | None]]:
    try:
        import torch.nn.functional as tF
    except ImportError:  # torch is optional
        tF = None

    def tcall(fn):
        return None if tF is None else fn

    return [
        ("max_pool2d 8x64x56x56 k3 s2 p1", (8, 64, 56, 56),
         lambda x: F.max_pool2d(x, 3, 2, 1), tcall(lambda t: tF.max_pool2d(t, 3, 2, 1))),
        ("avg_pool2d 8x64x56x56 k3 s2 p1", (8, 64, 56, 56),
         lambda x: F.avg_pool2d(x, 3, 2, 1), tcall(lambda t: tF.avg_pool2d(t, 3, 2, 1))),
        ("max_pool2d+indices 8x64x56x56 k2", (8, 64, 56, 56),
         lambda x: F.max_pool2d(x, 2, return_indices=True),
         tcall(lambda t: tF.max_pool2d(t, 2, return_indices=True))),
        ("adaptive_avg_pool2d 32x512x14x14 -> 7", (32, 512, 14, 14),
         lambda x: F.adaptive_avg_pool2d(x, 7), tcall(lambda t: tF.adaptive_avg_pool2d(t, 7))),
    ]


def throughput(call: Callable[[int], object], threads: int, seconds: float) -> float:
    """Calls per second of ``threads`` threads each calling ``call(i)`` (its own array i)
    for about ``seconds``."""
    counts = [0] * threads
    stop = threading.Event()
    barrier = threading.Barrier(threads + 1)

    def work(i: int) -> None:
        barrier.wait()
        while not stop.is_set():
            call(i)
            counts[i] += 1

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in pool:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", default="1,2,4")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    counts = [int(t) for t in args.threads.split(",")]
    poolnd.set_num_threads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    rows = []
    print(f"# {os.cpu_count()} CPUs; each call single-threaded; calls/s, best of "
          f"{args.rounds} rounds (speed-up over 1 thread)\n")
    header = "| case | competitor | " + " | ".join(f"{t} thread{'s' * (t > 1)}" for t in counts)
    print(header + " |")
    print("|---|---|" + "---:|" * len(counts))
    for name, shape, ours, theirs in _cases():
        arrays = [rng.standard_normal(shape).astype(np.float32) for _ in range(max(counts))]
        competitors = [("poolnd", lambda i, a=arrays, f=ours: f(a[i]))]
        if theirs is not None and torch is not None:
            tensors = [torch.from_numpy(a) for a in arrays]
            competitors.append(("torch", lambda i, t=tensors, f=theirs: f(t[i])))
        for label, call in competitors:
            call(0)  # compile / load before timing
            rates = {t: 0.0 for t in counts}
            for _ in range(args.rounds):
                for t in counts:
                    rates[t] = max(rates[t], throughput(call, t, args.seconds))
            cells = [f"{rates[t]:.0f} ({rates[t] / rates[counts[0]]:.2f}x)" for t in counts]
            print(f"| {name} | {label} | " + " | ".join(cells) + " |")
            rows.append({"case": name, "competitor": label, "calls_per_s": rates})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpus": os.cpu_count(), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
