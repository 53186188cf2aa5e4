"""Forward max and average pooling over a sweep of window shapes, against onnxruntime and
PyTorch (NCHW), float32: kernel sizes 2 to 7, strides 1 to 3, with and without padding, on
odd-sized planes and at batch 1. No kernel size should fall off a cliff. With ``--tiles``,
windows that tile the input instead (kernel == stride, 2 to 8, no padding), on the same
planes. With ``--small``, either sweep runs on small planes instead (14x14 and 7x7, the
last stages of a CNN), windows no larger than the plane.

Run: ``OMP_WAIT_POLICY=PASSIVE python benchmarks/sweep.py [--threads 2] [--budget 0.3]
[--tiles] [--small]``.
The timing is `poolnd bench`'s (poolnd._cli.bench): each configuration's competitors run in
interleaved rounds of random order, and the medians are compared. Prints one Markdown row
per configuration (poolnd/ort below 1: poolnd faster) and, last, the worst ratios.
"""

from __future__ import annotations

import argparse
import gc
import platform

import numpy as np

from poolnd._cli import bench

SHAPES = ((8, 64, 57, 57), (1, 64, 112, 112))
SMALL = ((32, 512, 14, 14), (32, 2048, 7, 7))


def _configs(tiles: bool = False, small: bool = False) -> list[bench.Case]:
    shapes = SMALL if small else SHAPES
    if tiles:
        return [bench.Case(shape, k, k, 0) for shape in shapes for k in range(2, 9)
                if k <= shape[-1]]
    cases = []
    for shape in shapes:
        for k in range(2, 8):
            for s in range(1, 4):
                if s > k or k > shape[-1]:
                    continue
                for p in sorted({0, k // 2}):
                    cases.append(bench.Case(shape, k, s, p))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--budget", type=float, default=0.3)
    parser.add_argument("--ops", default="max,avg")
    parser.add_argument("--tiles", action="store_true",
                        help="windows that tile the input (kernel == stride, 2 to 8)")
    parser.add_argument("--small", action="store_true",
                        help="small planes: 32x512x14x14 and 32x2048x7x7")
    args = parser.parse_args()
    libs = bench._Libs.load()
    bench._set_threads(libs, args.threads)
    print(f"{bench._cpu_model() or platform.machine()}, threads {args.threads}, float32, "
          f"medians of interleaved rounds ({args.budget} s a configuration)\n")
    print("| op | case | poolnd ms | onnxruntime ms | torch NCHW ms | poolnd/ort | torch/poolnd |")
    print("|---|---|---:|---:|---:|---:|---:|")
    rows = []
    for case in _configs(args.tiles, args.small):
        x = np.random.default_rng(0).standard_normal(case.shape, dtype=np.float32)
        for op in args.ops.split(","):
            comps = [c for c in bench._forward_competitors(libs, op, case, x, args.threads)
                     if c.key in ("poolnd", "ort", "torch")]
            bench._first_calls(comps, keep=False)
            bench._rounds(comps, None, args.budget, 5)
            med = {c.key: bench._median(c.times_ms) for c in comps}
            ort = bench._ratio(med["poolnd"], med["ort"])
            torch = bench._ratio(med["torch"], med["poolnd"])
            rows.append((ort, op, case.name))
            print(f"| {op} | {case.name} | {bench._fmt_ms(med['poolnd'])} | "
                  f"{bench._fmt_ms(med['ort'])} | {bench._fmt_ms(med['torch'])} | "
                  f"{bench._fmt_ratio(ort)} | {bench._fmt_ratio(torch)} |", flush=True)
            gc.collect()
    worst = sorted((r for r in rows if r[0] is not None), reverse=True)[:10]
    print("\nworst poolnd/ort: " + "; ".join(f"{op} {name} {r:.2f}" for r, op, name in worst))
    over = sum(1 for r in rows if r[0] is not None and r[0] > 1)
    print(f"{over} of {len(rows)} configurations slower than onnxruntime")


if __name__ == "__main__":
    main()
