"""Calls in a loop: small poolnd calls made back to back, its helper threads spinning for the
next launch (the default) against sleeping at once, with PyTorch NCHW beside them.

poolnd's helper threads spin for about 0.1 ms after a chunk before they sleep, and a launch's
caller spins until its last chunk ends (`poolnd._kernels.spin`); `poolnd bench` turns the
helpers' spinning off, as it tells the other libraries' pools not to spin, so it does not
show what the spinning buys a loop of calls. This does: each round runs, for every
competitor in turn, ``--calls`` calls in a row and keeps their median; the table shows the
median over ``--rounds`` rounds, and the ratio of the two poolnd rows.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/back_to_back.py [--rounds R] [--calls C]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import poolnd
from poolnd import _threads as tuning

F = poolnd.functional


Case = tuple[str, Callable[[], object], Callable[[], object] | None]


def _case(shape: tuple[int, ...], k: int, s: int, p: int, rng: np.random.Generator,
          torch: Any) -> list[Case]:
    """(name, poolnd call, torch call or None) of max, average and the max pullback."""
    x = rng.standard_normal(shape, dtype=np.float32)
    nd = len(shape) - 2
    name = f"{nd}d {'x'.join(map(str, shape))} k{k} s{s} p{p}"
    pmax, pavg = getattr(F, f"max_pool{nd}d"), getattr(F, f"avg_pool{nd}d")
    out, pullback = poolnd.vjp(pmax, x, k, s, p)
    g = rng.standard_normal(out.shape, dtype=np.float32)
    theirs: dict[str, Callable[[], object]] = {}
    if torch is not None:
        tF = torch.nn.functional
        tmax, tavg = getattr(tF, f"max_pool{nd}d"), getattr(tF, f"avg_pool{nd}d")
        xt = torch.from_numpy(x)
        leaf = xt.clone().requires_grad_(True)
        ot, gt = tmax(leaf, k, s, p), torch.from_numpy(g)
        grad = torch.autograd.grad
        theirs = {"max": lambda: tmax(xt, k, s, p), "avg": lambda: tavg(xt, k, s, p),
                  "pullback": lambda: grad(ot, leaf, gt, retain_graph=True)[0]}
    return [(f"max {name}", lambda: pmax(x, k, s, p), theirs.get("max")),
            (f"avg {name}", lambda: pavg(x, k, s, p), theirs.get("avg")),
            (f"max pullback {name}", lambda: pullback(g), theirs.get("pullback"))]


def _cases(rng: np.random.Generator) -> list[Case]:
    try:
        import torch
    except ImportError:
        torch = None
    cases: list[Case] = []
    for shape, k, s, p in (((1, 64, 112, 112), 3, 2, 1), ((64, 32, 28, 28), 2, 2, 0),
                           ((4, 32, 16, 56, 56), 2, 2, 0)):
        cases += _case(shape, k, s, p, rng, torch)
    return cases


def _block(call: Callable[[], object], calls: int) -> float:
    """The median time in ms of ``calls`` calls made back to back."""
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    poolnd.set_compile_mode("wait")
    poolnd.set_num_threads(args.threads)
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    spin = tuning.HELPER_SPIN_TICKS
    print(f"{args.threads} threads; median ms of {args.rounds} rounds, each the median of "
          f"{args.calls} calls in a row")
    print()
    print("| case | poolnd, helpers spin | poolnd, helpers sleep | spin/sleep | torch NCHW |")
    print("|---|---:|---:|---:|---:|")
    for name, ours, theirs in _cases(np.random.default_rng(0)):
        ours()
        rows: dict[str, list[float]] = {"spin": [], "sleep": [], "torch": []}
        for _ in range(args.rounds):
            for key in rows:
                if key == "torch":
                    if theirs is not None:
                        rows[key].append(_block(theirs, args.calls))
                    continue
                tuning.HELPER_SPIN_TICKS = spin if key == "spin" else 0
                rows[key].append(_block(ours, args.calls))
        tuning.HELPER_SPIN_TICKS = spin
        m = {k: statistics.median(v) if v else float("nan") for k, v in rows.items()}
        print(f"| {name} | {m['spin']:.3f} | {m['sleep']:.3f} | {m['spin'] / m['sleep']:.2f} "
              f"| {m['torch']:.3f} |")


if __name__ == "__main__":
    main()
