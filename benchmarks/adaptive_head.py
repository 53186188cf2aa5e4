"""ResNet-head adaptive pooling, poolnd against PyTorch CPU: 2 threads each, interleaved rounds.

Each round calls every competitor once (``--block N``: N times in a row, timing the mean
call), in an order that rotates by one each round (as ``poolnd bench`` does); the medians of
the rounds are printed, in ms. PyTorch's idle OpenMP threads spin for a while after each call
(unless ``OMP_WAIT_POLICY=PASSIVE``), holding a core that the next call, poolnd's, then lacks;
``--block 10`` lets each competitor run with the machine to itself after its first call.

    python benchmarks/adaptive_head.py [--rounds 400] [--block 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as tF

import poolnd
from poolnd._adaptive import adaptive_avg_pool2d, adaptive_max_pool2d

CASES = [((32, 2048, 7, 7), 1), ((32, 512, 14, 14), 7)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--block", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    poolnd.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    for shape, size in CASES:
        x = rng.standard_normal(shape, dtype=np.float32)
        t = torch.from_numpy(x)
        for op, ours, theirs in [
            ("avg", adaptive_avg_pool2d, tF.adaptive_avg_pool2d),
            ("max", adaptive_max_pool2d, tF.adaptive_max_pool2d),
        ]:
            calls = [("poolnd", lambda f=ours, a=x, s=size: f(a, s)),
                     ("torch", lambda f=theirs, a=t, s=size: f(a, s))]
            for _, call in calls:
                call()
            times: dict[str, list[float]] = {name: [] for name, _ in calls}
            for r in range(args.rounds):
                for name, call in calls[r % 2:] + calls[: r % 2]:
                    t0 = time.perf_counter()
                    for _ in range(args.block):
                        call()
                    times[name].append((time.perf_counter() - t0) * 1e3 / args.block)
            ours_ms, torch_ms = (float(np.median(times[n])) for n, _ in calls)
            print(f"adaptive_{op}_pool2d {'x'.join(map(str, shape))} -> {size}: "
                  f"poolnd {ours_ms:.3f} ms, torch {torch_ms:.3f} ms, "
                  f"torch/poolnd {torch_ms / ours_ms:.2f}")


if __name__ == "__main__":
    main()
