"""Thread control of the compiled kernels, and bitwise-identical results for any count."""

from __future__ import annotations

import numpy as np
import pytest

import poolnd
import poolnd.functional as F


def _all_results(x: np.ndarray) -> list[np.ndarray]:
    out = []
    for fn, args in ((F.max_pool2d, (3, 2, 1)), (F.avg_pool2d, (3, 2, 1)),
                     (F.max_pool2d, (2, 1, 0, 2)), (F.avg_pool2d, (2, 2, 1, True, False))):
        values, pullback = poolnd.vjp(fn, x, *args)
        out += [values, pullback(np.cos(values))]
    values, indices = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    return [*out, values, indices]


def test_results_are_bitwise_identical_for_any_thread_count(restore_threads):
    # large enough to take the parallel path; ties and NaN included
    rng = np.random.default_rng(7)
    x = rng.integers(-4, 5, size=(3, 5, 61, 67)).astype(np.float32)
    x[0, 0, 3, 3] = np.nan
    x += rng.standard_normal(x.shape).astype(np.float32) * (rng.random(x.shape) < 0.5)
    results = {}
    for n in sorted({1, 2, poolnd.get_num_threads()}):
        poolnd.set_num_threads(n)
        assert poolnd.get_num_threads() == n
        results[n] = _all_results(x)
    first = results.pop(1)
    for other in results.values():
        for a, b in zip(first, other, strict=True):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (0, ValueError, r"set_num_threads\(\): n must be between 1 and \S+=\d+; got 0"),
        (10**6, ValueError, r"n must be between 1 and NUMBA_NUM_THREADS=\d+; got 1000000"),
        (1.5, TypeError, r"set_num_threads\(\): n must be an int; got 1.5"),
        (True, TypeError, r"set_num_threads\(\): n must be an int; got True"),
        ("2", TypeError, r"n must be an int; got '2'"),
    ],
)
def test_set_num_threads_rejects_bad_counts(value, error, match, restore_threads):
    with pytest.raises(error, match=match):
        poolnd.set_num_threads(value)


def test_dask_tasks_run_their_kernels_serially_after_set_num_threads(monkeypatch,
                                                                     restore_threads):
    """Dask already runs blocks in parallel: inside a task every kernel launch is serial,
    whatever `set_num_threads` asked, while a NumPy call in the same process uses the
    request (the override is scoped to the task's thread and block)."""
    import dask
    import dask.array as da

    import poolnd._threads as threads

    seen: list[int] = []
    real = threads.kernel_threads

    def recording() -> int:
        n = real()
        seen.append(n)
        return n

    monkeypatch.setattr(threads, "kernel_threads", recording)
    monkeypatch.setattr(threads, "SERIAL_WORK", 0)  # any launch would go parallel
    poolnd.set_num_threads(2)
    x = np.random.default_rng(0).standard_normal((2, 4, 64, 64)).astype(np.float32)
    F.max_pool2d(x, 3, 2, 1)
    assert seen and set(seen) == {2}
    lazy = F.max_pool2d(da.from_array(x, chunks=(1, 2, 32, 32)), 3, 2, 1)
    seen.clear()  # (building the graph checks the call on a small stand-in, here)
    with dask.config.set(scheduler="threads", num_workers=2):
        out = lazy.compute()
    assert seen and set(seen) == {1}
    np.testing.assert_array_equal(out, F.max_pool2d(x, 3, 2, 1))
    seen.clear()
    F.avg_pool2d(x, 2)  # the request holds again outside the tasks
    assert seen and set(seen) == {2}


def test_parallel_launches_take_four_to_sixteen_chunks_a_thread(monkeypatch, restore_threads):
    """A launch runs in 4 to 16 chunks per thread: as many as keep each chunk at least
    `CHUNK_WORK` cell visits (a chunk's end takes the GIL), never fewer than 4 a thread
    (dynamic balance) nor more than the work items."""
    from poolnd._kernels import launch

    made: list[int] = []
    real = launch._Launch.__init__

    def recording(self, body, args, chunks, total, helpers):
        made.append(chunks)
        real(self, body, args, chunks, total, helpers)

    monkeypatch.setattr(launch._Launch, "__init__", recording)
    poolnd.set_num_threads(2)
    x = np.random.default_rng(0).standard_normal((2, 64, 96, 96)).astype(np.float32)
    g = np.ones((2, 64, 48, 48), np.float32)
    pullback = poolnd.vjp(F.max_pool2d, x, 3, 2, 1)[1]
    for chunk_work, want in ((1 << 20, 8), (1 << 18, 8), (1 << 16, 22), (1 << 12, 32),
                             (1, 32)):
        monkeypatch.setattr("poolnd._threads.CHUNK_WORK", chunk_work)
        made.clear()
        pullback(g)  # one launch over 128 planes: 2 * 64 * 48 * 48 = 294912 outputs
        # scattered and 2 * 64 * 96 * 96 = 1179648 input cells zeroed, 1474560 visits
        assert made == [want], (chunk_work, made)


def test_launches_call_the_compiled_entry_point_which_still_checks_types(restore_threads):
    """Once a kernel is compiled for a launch's operands, its chunks (serial or parallel)
    are called through the compiled code's entry point, not the dispatcher, with the same
    results; the entry point still refuses an operand of another type than it was
    compiled for."""
    from poolnd._kernels import launch

    x = np.random.default_rng(1).standard_normal((4, 16, 40, 40)).astype(np.float32)
    for threads in (1, 2):
        poolnd.set_num_threads(threads)
        with poolnd._threads.serial():
            want = F.avg_pool2d(x, 3, 2, 1)
        launch._known.clear()
        assert np.array_equal(F.avg_pool2d(x, 3, 2, 1), want)
        bodies = list(launch._known.values())
        assert bodies and all(type(b).__name__ == "builtin_function_or_method"
                              for b in bodies), bodies
    for (dispatcher, _), entry in launch._known.items():
        assert entry in [c.entry_point for c in dispatcher.overloads.values()]
    (dispatcher, fingerprint), entry = next(iter(launch._known.items()))
    with pytest.raises(TypeError, match="can't unbox array"):  # float64 for float32
        entry(x.astype(np.float64), *([None] * (len(fingerprint) - 1)), 0, 1)
