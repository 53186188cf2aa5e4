"""Any-reducer downsampling: poolnd.pool against scikit-image's block_reduce and SciPy's
generic_filter-style filters (every position filtered, then subsampled).

Run: ``python benchmarks/reducers.py [--size 1024] [--repeat 3]``. Prints one row per method
(median seconds of ``--repeat`` runs) for a ``size x size`` float32 image in 4 x 4 blocks
(the median also in 2 x 2 and 8 x 8 blocks, in 3 x 3 windows at stride 1, and over an
``(8, 16, 128, 128)`` batch in 4 x 4 blocks), and checks that each poolnd result equals
block_reduce's (the stride-1 median: ``median_filter``'s inside the image). ``np.median`` runs
compiled (`poolnd._kernels.sliding.numba_select`); the ``numpy path`` rows pass a function
calling ``np.median`` instead, which poolnd hands blocks of window views.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

import poolnd


def _time(call, repeat: int) -> float:
    call()  # warm-up (Numba compiles on first use)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    poolnd.set_compile_mode("wait")  # time the compiled kernels, not the first calls' NumPy
    from scipy import ndimage
    from skimage.measure import block_reduce

    rng = np.random.default_rng(0)
    image = rng.standard_normal((args.size, args.size)).astype(np.float32)
    masked = image.copy()
    masked[rng.random(image.shape) < 0.1] = np.nan
    small = image[: args.size // 4, : args.size // 4]  # generic_filter calls Python per pixel
    batch = rng.standard_normal((8, 16, 128, 128)).astype(np.float32)

    def numpy_median(windows, axis):  # not np.median itself: poolnd's NumPy path
        return np.median(windows, axis=axis)

    def median_rows(k: int) -> list:
        return [
            (f"median {k}x{k}", f"poolnd.pool(x[None], np.median, ({k}, {k}))[0]",
             lambda: poolnd.pool(image[None], np.median, (k, k))[0]),
            (f"median {k}x{k}", f"poolnd.pool(x[None], numpy_median, ({k}, {k}))[0] (numpy path)",
             lambda: poolnd.pool(image[None], numpy_median, (k, k))[0]),
            (f"median {k}x{k}", f"block_reduce(x, ({k}, {k}), np.median)",
             lambda: block_reduce(image, (k, k), np.median)),
            (f"median {k}x{k}", f"ndimage.median_filter(x, {k})[::{k}, ::{k}] (compiled filter, "
             "all positions)",
             lambda: ndimage.median_filter(image, k, origin=-(k // 2))[::k, ::k]),
        ]

    rows = [
        *median_rows(4),
        ("median 4x4", f"ndimage.generic_filter(x, np.median, 4)[::4, ::4] on {small.shape} "
         "(x16 for the full image)",
         lambda: ndimage.generic_filter(small, np.median, 4, origin=-2)[::4, ::4]),
        *median_rows(2),
        *median_rows(8),
        ("median 3x3 s1", "poolnd.pool(x[None], np.median, (3, 3), 1)[0]",
         lambda: poolnd.pool(image[None], np.median, (3, 3), 1)[0]),
        ("median 3x3 s1", "poolnd.pool(x[None], numpy_median, (3, 3), 1)[0] (numpy path)",
         lambda: poolnd.pool(image[None], numpy_median, (3, 3), 1)[0]),
        ("median 3x3 s1", "ndimage.median_filter(x, 3)",
         lambda: ndimage.median_filter(image, 3)),
        ("median 4x4, (8, 16, 128, 128)", "poolnd.pool(b, np.median, (4, 4))",
         lambda: poolnd.pool(batch, np.median, (4, 4))),
        ("median 4x4, (8, 16, 128, 128)", "poolnd.pool(b, numpy_median, (4, 4)) (numpy path)",
         lambda: poolnd.pool(batch, numpy_median, (4, 4))),
        ("median 4x4, (8, 16, 128, 128)", "block_reduce(b, (1, 1, 4, 4), np.median)",
         lambda: block_reduce(batch, (1, 1, 4, 4), np.median)),
        ("nanmean", "poolnd.pool(x[None], 'nanmean', (4, 4))[0]",
         lambda: poolnd.pool(masked[None], "nanmean", (4, 4))[0]),
        ("nanmean", "poolnd.pool(x[None], np.nanmean, (4, 4))[0]",
         lambda: poolnd.pool(masked[None], np.nanmean, (4, 4))[0]),
        ("nanmean", "block_reduce(x, (4, 4), np.nanmean)",
         lambda: block_reduce(masked, (4, 4), np.nanmean)),
        ("nanmax", "poolnd.pool(x[None], 'nanmax', (4, 4))[0]",
         lambda: poolnd.pool(masked[None], "nanmax", (4, 4))[0]),
        ("nanmax", "block_reduce(x, (4, 4), np.nanmax)",
         lambda: block_reduce(masked, (4, 4), np.nanmax)),
    ]
    calls = {name: call for _, name, call in rows}

    def same(a: str, b: str) -> None:
        np.testing.assert_array_equal(calls[a](), calls[b]())

    for k in (2, 4, 8):
        same(f"poolnd.pool(x[None], np.median, ({k}, {k}))[0]",
             f"block_reduce(x, ({k}, {k}), np.median)")
        same(f"poolnd.pool(x[None], np.median, ({k}, {k}))[0]",
             f"poolnd.pool(x[None], numpy_median, ({k}, {k}))[0] (numpy path)")
    same("poolnd.pool(b, np.median, (4, 4))", "block_reduce(b, (1, 1, 4, 4), np.median)")
    np.testing.assert_array_equal(calls["poolnd.pool(x[None], np.median, (3, 3), 1)[0]"](),
                                  ndimage.median_filter(image, 3)[1:-1, 1:-1])
    np.testing.assert_allclose(  # sum order
        calls["poolnd.pool(x[None], 'nanmean', (4, 4))[0]"](),
        calls["block_reduce(x, (4, 4), np.nanmean)"](), rtol=1e-5, atol=1e-6)
    same("poolnd.pool(x[None], 'nanmax', (4, 4))[0]", "block_reduce(x, (4, 4), np.nanmax)")
    print(f"# {args.size}x{args.size} float32; {platform.processor() or ''} "
          f"{platform.machine()}; numpy {np.__version__}; median of {args.repeat} runs")
    print("| reducer | call | seconds |")
    print("|---|---|---|")
    for reducer, name, call in rows:
        print(f"| {reducer} | `{name}` | {_time(call, args.repeat):.4f} |")


if __name__ == "__main__":
    main()
