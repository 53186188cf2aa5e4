"""Any-reducer downsampling: poolnd.pool against scikit-image's block_reduce and SciPy's
generic_filter-style filters (every position filtered, then subsampled).

Run: ``python benchmarks/reducers.py [--size 1024] [--repeat 3]``. Prints one row per method
(median seconds of ``--repeat`` runs) for a ``size x size`` float32 image in 4 x 4 blocks,
and checks that each poolnd result equals block_reduce's.
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
    from scipy import ndimage
    from skimage.measure import block_reduce

    rng = np.random.default_rng(0)
    image = rng.standard_normal((args.size, args.size)).astype(np.float32)
    masked = image.copy()
    masked[rng.random(image.shape) < 0.1] = np.nan
    small = image[: args.size // 4, : args.size // 4]  # generic_filter calls Python per pixel
    rows = [
        ("median", "poolnd.pool(x[None], np.median, (4, 4))[0]",
         lambda: poolnd.pool(image[None], np.median, (4, 4))[0]),
        ("median", "block_reduce(x, (4, 4), np.median)",
         lambda: block_reduce(image, (4, 4), np.median)),
        ("median", "ndimage.median_filter(x, 4)[::4, ::4] (compiled filter, all positions)",
         lambda: ndimage.median_filter(image, 4, origin=-2)[::4, ::4]),
        ("median", f"ndimage.generic_filter(x, np.median, 4)[::4, ::4] on {small.shape} "
         "(x16 for the full image)",
         lambda: ndimage.generic_filter(small, np.median, 4, origin=-2)[::4, ::4]),
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
    np.testing.assert_array_equal(rows[0][2](), rows[1][2]())
    np.testing.assert_allclose(rows[4][2](), rows[6][2](), rtol=1e-5, atol=1e-6)  # sum order
    np.testing.assert_array_equal(rows[7][2](), rows[8][2]())
    print(f"# {args.size}x{args.size} float32, 4x4 blocks; {platform.processor() or ''} "
          f"{platform.machine()}; numpy {np.__version__}; median of {args.repeat} runs")
    print("| reducer | call | seconds |")
    print("|---|---|---|")
    for reducer, name, call in rows:
        print(f"| {reducer} | `{name}` | {_time(call, args.repeat):.4f} |")


if __name__ == "__main__":
    main()
