"""Concurrency: calls from many Python threads at once, any kernel thread count, the GIL.

* Every op family called from 8 threads at once (small calls on the serial path and large ones
  on the parallel kernels, interleaved) gives the bits of the same calls made one at a time.
* Results are bitwise identical for every thread count ``1 .. NUMBA_NUM_THREADS`` (and, in a
  subprocess, for 1 to 4 threads whatever the machine has).
* The kernels release the GIL: a Python thread keeps running while another thread pools,
  where a kernel holding the GIL (the control, compiled without ``nogil``) stops it.
* Parallel launches run on poolnd's own helper threads: no Numba threading layer is ever
  loaded (Numba's 'workqueue' layer, its fallback without TBB or OpenMP, aborts the process
  when two threads launch parallel kernels at once), even with launches from six threads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np
import pytest

import poolnd

F = poolnd.functional
SRC = str(Path(poolnd.__file__).resolve().parents[1])


def _inputs(big: bool) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    n = 4 if big else 1
    x = rng.integers(-3, 4, size=(n, 6, 47, 53)).astype(np.float32)  # ties
    x[0, 0, :3, :3] = np.nan
    x += rng.standard_normal(x.shape).astype(np.float32) * (rng.random(x.shape) < 0.5)
    return {
        "x2": x,
        "x1": x.reshape(n, 6, -1)[..., :401].copy(),
        "x3": rng.integers(-3, 4, size=(n, 6, 9, 11, 40)).astype(np.float32),
        "x64": x.astype(np.float64),
        "i16": rng.integers(-100, 100, size=(n, 3, 40, 41)).astype(np.int16),
    }


def _calls(d: dict[str, np.ndarray]) -> list:
    """(name, thunk) for every op family; each thunk returns a tuple of arrays."""
    x2, x1, x3, x64, i16 = d["x2"], d["x1"], d["x3"], d["x64"], d["i16"]
    values, indices = F.max_pool2d(x2, 2, 2, return_indices=True)
    samples = np.random.default_rng(3).random((x2.shape[0], 6, 2)).astype(np.float32)

    def grads(fn, x, *args, **kwargs):
        def run():
            out, pullback = poolnd.vjp(fn, x, *args, **kwargs)
            first = out[0] if isinstance(out, tuple) else out
            g = np.cos(np.nan_to_num(first, nan=0.0, posinf=1.0, neginf=-1.0))
            return (*(out if isinstance(out, tuple) else (out,)), pullback(g))
        return run

    def one(fn, *args, **kwargs):
        return lambda: (fn(*args, **kwargs),)

    return [
        ("max2d", grads(F.max_pool2d, x2, 3, 2, 1, return_indices=True)),
        ("max1d-dilated", grads(F.max_pool1d, x1, 4, 3, 2, 2, True)),
        ("max3d", grads(F.max_pool3d, x3, 2, 1, 1)),
        ("avg2d", grads(F.avg_pool2d, x2, 3, 1, 1, False, False)),
        ("avg3d", grads(F.avg_pool3d, x3, 3, 2, 1, True, True, 5)),
        ("max-pairs-cl", grads(poolnd.max_pool, np.moveaxis(x2, 1, -1), (3, 2), 2,
                               ((2, 0), (1, 3)), channels_last=True)),
        ("min-same", grads(poolnd.min_pool, x64, (3, 3), 2, "same")),
        ("sum-int", one(poolnd.sum_pool, i16, (2, 3), 1, "same_lower")),
        ("pool-multiply", one(poolnd.pool, i16, np.multiply, (2, 2))),
        ("lp", grads(F.lp_pool2d, x64, 2, 3, 2)),
        ("adaptive-max", grads(F.adaptive_max_pool2d, x2, (5, 7), True)),
        ("adaptive-avg", grads(F.adaptive_avg_pool3d, x3, (3, 2, 5))),
        ("fractional", grads(F.fractional_max_pool2d, x2, 3, (20, 9),
                             _random_samples=samples)),
        ("unpool", grads(F.max_unpool2d, values, indices, 2, output_size=x2.shape[-2:])),
        ("global-max", grads(poolnd.global_max_pool, x2)),
        ("global-avg", grads(poolnd.global_avg_pool, x64, keepdims=True)),
        ("global-lp", grads(poolnd.global_lp_pool, x64, 3)),
    ]


def _bits(results) -> list[tuple[str, tuple, bytes]]:
    return [(str(a.dtype), a.shape, np.ascontiguousarray(a).tobytes()) for a in results]


def test_many_threads_at_once_give_the_serial_results():
    calls = [(f"{name}-{size}", fn) for size in ("small", "big")
             for name, fn in _calls(_inputs(size == "big"))]
    expected = {name: _bits(fn()) for name, fn in calls}
    jobs = [calls[(7 * i) % len(calls)] for i in range(6 * len(calls))]  # interleaved

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [(name, pool.submit(fn)) for name, fn in jobs]
        for name, future in futures:
            assert _bits(future.result()) == expected[name], name


def test_results_are_identical_for_every_thread_count(restore_threads):
    calls = _calls(_inputs(big=True))
    results = {}
    for n in range(1, poolnd._threads.thread_limit() + 1):
        poolnd.set_num_threads(n)
        results[n] = [_bits(fn()) for _, fn in calls]
    for n, got in results.items():
        for (name, _), a, b in zip(calls, results[1], got, strict=True):
            assert a == b, (name, n)


_SCRIPT = """
import sys, threading
import numpy as np
sys.path.insert(0, {src!r})
import poolnd, numba
sys.path.insert(0, {tests!r})
from test_concurrency import _bits, _calls, _inputs

calls = _calls(_inputs(big=True))
mode = sys.argv[1]
if mode == "counts":
    results = []
    for n in range(1, poolnd._threads.thread_limit() + 1):
        poolnd.set_num_threads(n)
        results.append([_bits(fn()) for _, fn in calls])
    assert all(r == results[0] for r in results), "thread counts disagree"
else:
    expected = [_bits(fn()) for _, fn in calls]
    errors = []

    def work():
        for _ in range(3):
            for (name, fn), want in zip(calls, expected):
                if _bits(fn()) != want:
                    errors.append(name)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
try:
    layer = numba.threading_layer()  # raises until a parallel=True kernel has run
except ValueError:
    layer = "none"
print("ok", layer, poolnd._threads.thread_limit())
"""


def _run_script(mode: str, **env: str) -> subprocess.CompletedProcess:
    script = _SCRIPT.format(src=SRC, tests=str(Path(__file__).parent))
    return subprocess.run(
        [sys.executable, "-c", script, mode], env={**os.environ, **env},
        capture_output=True, text=True, timeout=300,
    )


def test_four_kernel_threads_in_a_subprocess_agree_with_one():
    done = _run_script("counts", NUMBA_NUM_THREADS="4")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[0] == "ok" and done.stdout.split()[-1] == "4"


def test_concurrent_parallel_launches_load_no_numba_threading_layer():
    # Numba's workqueue layer aborts the process ("Concurrent access has been detected")
    # when two threads launch parallel=True kernels at once; poolnd's parallel launches run
    # the kernels' bodies on its own threads, so no layer is loaded, whichever is asked for.
    done = _run_script("threads", NUMBA_THREADING_LAYER="workqueue", NUMBA_NUM_THREADS="2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["ok", "none", "2"]


def test_set_num_threads_is_process_wide(restore_threads, monkeypatch):
    import poolnd._kernels.launch as launcher

    launches = []
    real = launcher._Launch
    monkeypatch.setattr(launcher, "_Launch", lambda *a: launches.append(a) or real(*a))
    x = np.ones((8, 8, 64, 64), np.float32)  # a parallel-size call
    seen = []

    def worker():
        seen.append(poolnd.get_num_threads())
        F.max_pool2d(x, 3, 1, 1)

    if poolnd._threads.thread_limit() > 1:  # the control: two threads split the work
        poolnd.set_num_threads(2)
        worker()
        assert seen == [2] and len(launches) == 1
    seen.clear()
    launches.clear()
    poolnd.set_num_threads(1)
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == [1] and launches == []  # the whole call ran in one piece


# --------------------------------------------------------------------------------------------
# the GIL


@numba.njit(nogil=False, cache=False)
def _holds_the_gil(x, repeat):  # pragma: no cover - compiled
    total = 0.0
    for _ in range(repeat):
        for v in x.ravel():
            total += v
    return total


def _observer_share(call, tries: int = 3, span: float = 0.03) -> float:
    """How fast a Python thread runs while another thread makes ``call`` (again and again
    for at least ``span`` seconds), relative to while that thread sleeps as long: about 1
    (or 1/2 on a single free core) when ``call`` releases the GIL, near 0 when it holds it.
    The best of ``tries``. (A single call of a millisecond or two could end before the
    observer, sharing two cores with the other test worker, was scheduled at all: 0.0.)"""

    def repeated():
        end = time.perf_counter() + span
        call()
        while time.perf_counter() < end:
            call()

    def rate(work) -> tuple[float, float]:
        done = threading.Event()

        def run():
            work()
            done.set()

        count, start = 0, time.perf_counter()
        threading.Thread(target=run).start()
        while not done.is_set():
            count += 1
        elapsed = time.perf_counter() - start
        return count / elapsed, elapsed

    best = 0.0
    for _ in range(tries):
        during, elapsed = rate(repeated)
        idle, _ = rate(lambda seconds=elapsed: time.sleep(seconds))
        best = max(best, during / idle)
        if best > 0.25:
            break
    return best


@pytest.fixture(scope="module")
def gil_input():
    return np.random.default_rng(5).standard_normal((2, 16, 160, 160)).astype(np.float32)


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d", "max_pool2d backward",
                                  "adaptive_max_pool2d", "max_unpool2d"])
def test_kernels_release_the_gil(name, gil_input, restore_threads):
    poolnd.set_num_threads(1)  # the serial path: one call, one kernel on the calling thread
    x = gil_input
    if name == "max_pool2d":
        call = lambda: F.max_pool2d(x, 5, 1, 2)  # noqa: E731
    elif name == "avg_pool2d":
        call = lambda: F.avg_pool2d(x, 5, 1, 2)  # noqa: E731
    elif name == "max_pool2d backward":
        out, pullback = poolnd.vjp(F.max_pool2d, x, 2, 1)
        g = np.ones_like(out)
        call = lambda: [pullback(g) for _ in range(4)]  # noqa: E731
    elif name == "adaptive_max_pool2d":
        call = lambda: F.adaptive_max_pool2d(x, 37, return_indices=True)  # noqa: E731
    else:
        v, i = F.max_pool2d(x, 2, 2, return_indices=True)
        call = lambda: [F.max_unpool2d(v, i, 2) for _ in range(8)]  # noqa: E731
    call()  # compiled and loaded before timing
    assert _observer_share(call) > 0.25


def test_the_gil_measure_sees_a_kernel_that_holds_it():
    x = np.random.default_rng(5).standard_normal(1 << 20)
    _holds_the_gil(x, 1)
    assert _observer_share(lambda: _holds_the_gil(x, 1000), tries=1) < 0.1  # ~0.5 s
