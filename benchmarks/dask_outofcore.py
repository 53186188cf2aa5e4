"""Out-of-core pooling: a Zarr array larger than the workers' memory, on a Dask cluster.

Writes a random float32 Zarr array of ``--size-gib`` GiB (``C x H x W``, chunks of
``--chunk`` x ``--chunk`` cells), then, for each worker count in ``--workers``, starts a
fresh ``dask.distributed`` LocalCluster of worker processes limited to ``--memory-limit``
each and runs ``poolnd pool IN.zarr OUT.zarr --op max --kernel 3,3 --stride 2 --padding 1``
(overlapping windows, so every block reads halos from its neighbours) through the command
line's own code, in this process, on that cluster. Reports the wall time, each worker's peak
resident memory (Linux's ``VmHWM``, since the worker started), the client's, and checks a few
random output tiles against the in-memory NumPy result of their input region.

    python benchmarks/dask_outofcore.py --size-gib 8 --memory-limit 1GiB --workers 1 2

``--json PATH`` writes the numbers. ``--dir`` holds the data (default: a temporary
directory, removed afterwards unless ``--keep``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from typing import Any

import numpy as np

POOL_ARGS = ["--op", "max", "--kernel", "3,3", "--stride", "2", "--padding", "1", "--axes", "cyx"]


def _peak_rss_mib() -> float:
    """This process's peak resident memory, MiB: Linux's ``VmHWM``, the high-water mark of
    this process image (``ru_maxrss`` would also count the image it was forked from, and
    a worker forked by a large parent would report the parent's size)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_seconds() -> float:
    """CPU time (user + system) this process has used."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def _bytes(text: str) -> int:
    from dask.utils import parse_bytes

    return int(parse_bytes(text))


def make_input(path: str, size_gib: float, chunk: int, channels: int) -> tuple[int, ...]:
    """A random float32 ``(channels, H, W)`` Zarr array of about ``size_gib`` GiB."""
    import dask.array as da
    import distributed
    import zarr

    cells = size_gib * 2**30 / 4 / channels  # per channel, rounded up to whole chunks
    width = max(1, round(math.sqrt(cells) / chunk)) * chunk
    height = max(1, math.ceil(cells / width / chunk)) * chunk
    shape = (channels, height, width)
    z = zarr.create_array(path, shape=shape, chunks=(1, chunk, chunk), dtype=np.float32,
                          overwrite=True)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as cluster, \
            distributed.Client(cluster):
        x = da.random.default_rng(0).standard_normal(shape, chunks=(1, chunk, chunk),
                                                      dtype=np.float32)
        da.store(x, z, lock=False)
    return shape


def run(src: str, dst: str, workers: int, memory_limit: str) -> dict[str, Any]:
    """``poolnd pool src dst ...`` on a fresh cluster; wall time and peak memories."""
    import distributed

    from poolnd.cli import main

    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  memory_limit=memory_limit, host="127.0.0.1",
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        client.run(lambda: __import__("poolnd").max_pool(np.zeros((1, 1, 8, 8)), (2, 2)))
        cpu_before = client.run(_cpu_seconds)
        start = time.perf_counter()
        status = main(["pool", src, dst, *POOL_ARGS, "--overwrite", "--quiet"])
        seconds = time.perf_counter() - start
        cpu_after = client.run(_cpu_seconds)
        peaks = client.run(_peak_rss_mib)
        restarts = sum(1 for e in client.get_events("all") if "restart" in str(e).lower())
    if status != 0:
        raise SystemExit(f"poolnd pool failed with status {status}")
    cpu = sum(cpu_after[w] - cpu_before[w] for w in cpu_after)
    return {"workers": workers, "seconds": seconds, "worker_cpu_seconds": cpu,
            "worker_peak_rss_mib": sorted(peaks.values()),
            "client_peak_rss_mib": _peak_rss_mib(), "restart_events": restarts}


def check_tiles(src: str, dst: str, tiles: int = 4, size: int = 512) -> int:
    """Compare random output tiles with the NumPy result of their input region."""
    import zarr

    import poolnd

    x, out = zarr.open_array(src, mode="r"), zarr.open_array(dst, mode="r")
    rng = np.random.default_rng(1)
    for _ in range(tiles):
        c = int(rng.integers(x.shape[0]))
        oy, ox = (int(rng.integers(0, max(1, n - size))) for n in out.shape[1:])
        # outputs oy.. read input rows 2*oy-1 .. 2*(oy+size-1)+1: take them with one spare row
        y0, x0 = max(0, 2 * oy - 1), max(0, 2 * ox - 1)
        region = x[c, y0:2 * (oy + size) + 1, x0:2 * (ox + size) + 1][None]
        pad = ((1 if y0 == 0 else 0, 1), (1 if x0 == 0 else 0, 1))
        local = poolnd.max_pool(region, (3, 3), 2, pad)[0]
        expected = local[:size, :size]
        got = out[c, oy:oy + size, ox:ox + size]
        h, w = got.shape
        if not np.array_equal(got, expected[:h, :w], equal_nan=True):
            raise SystemExit(f"tile at channel {c}, output ({oy}, {ox}) differs from NumPy")
    return tiles


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size-gib", type=float, default=8.0)
    p.add_argument("--memory-limit", default="1GiB", help="per worker (default 1GiB)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeat", type=int, default=1,
                   help="run the worker counts this many times, interleaved; the fastest "
                        "run of each is reported (the machine may be shared)")
    p.add_argument("--chunk", type=int, default=4096, help="chunk side, cells (default 4096)")
    p.add_argument("--channels", type=int, default=4)
    p.add_argument("--dir", help="where the Zarr arrays go (default: a temporary directory)")
    p.add_argument("--keep", action="store_true", help="keep the arrays")
    p.add_argument("--reuse", action="store_true",
                   help="pool the input already in --dir instead of writing a new one")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    root = args.dir or tempfile.mkdtemp(prefix="poolnd-ooc-")
    os.makedirs(root, exist_ok=True)
    src, dst = os.path.join(root, "in.zarr"), os.path.join(root, "out.zarr")
    try:
        t = time.perf_counter()
        if args.reuse:
            import zarr

            shape = zarr.open_array(src, mode="r").shape
        else:
            shape = make_input(src, args.size_gib, args.chunk, args.channels)
        print(f"input {shape} float32, {math.prod(shape) * 4 / 2**30:.2f} GiB, chunks "
              f"(1, {args.chunk}, {args.chunk}), "
              f"{'reused' if args.reuse else f'written in {time.perf_counter() - t:.1f} s'}",
              flush=True)
        runs = []
        for _ in range(args.repeat):
            for workers in args.workers:
                r = run(src, dst, workers, args.memory_limit)
                r["load_average"] = os.getloadavg()[0]
                runs.append(r)
                print(f"{workers} worker(s), {args.memory_limit} each: {r['seconds']:.1f} s "
                      f"({r['worker_cpu_seconds']:.1f} CPU-s in workers), "
                      f"worker peak RSS "
                      f"{', '.join(f'{m:.0f}' for m in r['worker_peak_rss_mib'])} MiB, client "
                      f"peak RSS {r['client_peak_rss_mib']:.0f} MiB, restarts "
                      f"{r['restart_events']}, load average {r['load_average']:.1f}",
                      flush=True)
        results = [min((r for r in runs if r["workers"] == w), key=lambda r: r["seconds"])
                   for w in args.workers]
        checked = check_tiles(src, dst)
        print(f"{checked} random output tiles equal the in-memory NumPy result")
        limit_mib = _bytes(args.memory_limit) / 2**20
        within = all(m <= limit_mib for r in runs for m in r["worker_peak_rss_mib"])
        print(f"every worker's peak within {args.memory_limit}: {within}")
        if len(results) > 1:
            print(f"speed-up {results[0]['workers']} -> {results[-1]['workers']} workers "
                  f"(fastest runs): {results[0]['seconds'] / results[-1]['seconds']:.2f}x")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"shape": shape, "chunk": args.chunk, "memory_limit": args.memory_limit,
                           "runs": runs, "results": results, "within_limit": within,
                           "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                       "python": sys.version.split()[0]},
                           "load_average": os.getloadavg()}, f, indent=2)
        return 0 if within else 1
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
