"""The spinning waits of a parallel launch (`poolnd._kernels.spin`) and the launch protocol
around them: helpers that spin for the next launch or sleep until one hands itself over,
the caller waiting for the last chunk, and the blocking fallback."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import poolnd
import poolnd.functional as F
from poolnd._kernels import launch

spin = launch.kernels("poolnd._kernels.spin")
_MS = 3_000_000  # time-stamp counter ticks: about a millisecond


def _later(seconds: float, action) -> threading.Thread:
    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_wait_set_sees_a_flag_set_by_another_thread_and_gives_up_on_its_limit():
    flag = np.zeros(1, np.int64)
    start = time.perf_counter()
    assert not spin.WAIT_SET(flag, 3 * _MS, 0)  # nobody sets it: the limit ends the wait
    assert 1e-4 < time.perf_counter() - start < 0.5
    setter = _later(0.02, lambda: flag.__setitem__(0, 1))
    start = time.perf_counter()
    assert spin.WAIT_SET(flag, 3000 * _MS, 0)  # within about 3 s; set after 20 ms
    waited = time.perf_counter() - start
    setter.join()
    assert 0.015 < waited < 2.5
    assert spin.WAIT_SET(flag, 0, 0)  # already set: at once
    start = time.perf_counter()
    assert spin.WAIT_SET(flag, 0, 30 * _MS)  # then the grace: about 10 ms more
    assert 0.004 < time.perf_counter() - start < 2.5


def test_signal_wait_sets_the_flag_then_returns_the_new_counter():
    flag, state = np.zeros(1, np.int64), np.full(1, 7, np.int64)
    assert spin.SIGNAL_WAIT(flag, state, 7, _MS // 10, 0) == 7  # no change: the limit
    assert flag[0] == 1
    assert spin.SIGNAL_WAIT(np.zeros(0, np.int64), state, 6, _MS, 0) == 7  # changed already
    bump = _later(0.02, lambda: state.__setitem__(0, 8))
    start = time.perf_counter()
    assert spin.SIGNAL_WAIT(np.zeros(0, np.int64), state, 7, 3000 * _MS, _MS // 10) == 8
    bump.join()
    assert time.perf_counter() - start > 0.015


def _chunk_log(chunks: int, seconds: float) -> tuple[launch._Launch, list[tuple[str, int]]]:
    """A launch whose chunks sleep ``seconds`` (releasing the GIL) and log their thread."""
    log: list[tuple[str, int]] = []

    def body(start: int, stop: int) -> None:
        time.sleep(seconds)
        log.append((threading.current_thread().name, start))

    return launch._Launch(body, (), chunks, chunks, 1), log


def _run(job: launch._Launch) -> None:
    """What `launch` does with a job once its chunks are chosen."""
    launch._ensure_helpers(1)
    launch._publish(job)
    if not job.run() and not (launch._spin and launch._spin.WAIT_SET(job.flag, 3000 * _MS, 0)):
        assert job.done.acquire(timeout=5)


@pytest.mark.parametrize("pause", [0.0, 0.01])
def test_helpers_take_chunks_whether_spinning_or_asleep(pause):
    """Back to back (``pause`` 0) the helper is still spinning when the next launch comes;
    after 10 ms it sleeps and the launch hands itself over. Either way every chunk runs
    exactly once, the helper runs some, and the launch is done when `_run` returns."""
    launch._load_spin()
    assert launch._spin is not None  # the tests compile as they go: ready at once
    helped = 0
    for _ in range(6):
        time.sleep(pause)
        job, log = _chunk_log(8, 0.002)
        _run(job)
        assert sorted(start for _, start in log) == list(range(8))
        assert not job.done.locked() and job.args == ()
        helped += sum(name == "poolnd-kernel" for name, _ in log)
    assert helped > 0


def _to_the_queue(monkeypatch) -> None:
    """Helpers that sleep on Python's queue, as where `poolnd._kernels.doze` is not loaded:
    `_doze` gone (as if it had failed to compile), and the helpers dozing on the bell woken
    (the launch counter moved, the bell rung) to find it gone."""
    launch._load_spin()
    doze = launch._doze
    monkeypatch.setattr(launch, "_doze", None)
    monkeypatch.setattr(launch, "_doze_failed", True)
    if doze is not None:
        with launch._asleep_lock:
            launch._epoch[0] += 1
        doze.RING(launch._bell)
        time.sleep(0.01)


def test_a_helper_that_does_not_spin_sets_the_last_chunks_flag_with_the_gil(
        monkeypatch, kernel_threads):
    """Where helpers sleep on Python's queue: a helper that does not spin
    (`HELPER_SPIN_TICKS` 0, as in `poolnd bench`) and ends a launch's last chunk sets the
    launch's flag from Python, holding the GIL, once it has counted itself asleep, a moment
    before `_pending.get` lets the GIL go; it never enters the spinning wait (which would
    set the flag without the GIL, so that the caller would often find the helper holding
    the GIL, and sleep). The caller waits `CALLER_GRACE_TICKS` past the flag; with spinning
    helpers, no grace."""
    kernel_threads(2)
    _to_the_queue(monkeypatch)
    x = np.random.default_rng(8).standard_normal((4, 8, 64, 64)).astype(np.float32)
    want = F.max_pool2d(x, 3, 2, 1)
    real, calls = launch._spin, []

    class Recording:
        def __getattr__(self, name):
            def wait(*args):
                calls.append((name, args[1:]))
                return getattr(real, name)(*args)
            return wait

    monkeypatch.setattr(launch, "_spin", Recording())
    for spin_ticks in (0, 300_000):
        monkeypatch.setattr(poolnd._threads, "HELPER_SPIN_TICKS", spin_ticks)
        time.sleep(0.01)  # helpers that were spinning are asleep
        calls.clear()
        for _ in range(10):
            assert np.array_equal(F.max_pool2d(x, 3, 2, 1), want)
        time.sleep(0.01)  # a helper woken by the last launch has reached its next wait
        grace = {args[1] for name, args in calls if name == "WAIT_SET"}
        helper_waits = [name for name, _ in calls if name == "SIGNAL_WAIT"]
        if spin_ticks == 0:
            assert helper_waits == [] and grace <= {poolnd._threads.CALLER_GRACE_TICKS}
        else:
            assert helper_waits and grace <= {0}
    assert poolnd._threads.CALLER_GRACE_TICKS > 0


def test_a_launch_seen_late_by_a_helper_runs_nothing_twice():
    """A helper meeting a launch whose chunks are all taken runs none of them, and a
    launch never takes more helpers than it asked for."""
    job, log = _chunk_log(3, 0.0)
    assert job.run() and len(log) == 3
    assert not job.run() and len(log) == 3
    assert [job.join() for _ in range(3)] == [0, 1, 2]  # only join 0 is below helpers (1)


def test_launches_keep_to_blocking_waits_where_the_spin_waits_failed(monkeypatch,
                                                                      kernel_threads):
    kernel_threads(2)
    x = np.random.default_rng(3).standard_normal((2, 8, 40, 40)).astype(np.float32)
    want = F.max_pool2d(x, 3, 2, 1, return_indices=True)

    def broken(name):
        raise RuntimeError("no such intrinsic")

    monkeypatch.setattr(launch, "_spin", None)
    monkeypatch.setattr(launch, "_spin_failed", False)
    monkeypatch.setattr(launch, "kernels", broken)
    launch._load_spin()
    assert launch._spin_failed and launch._spin is None
    for _ in range(3):
        got = F.max_pool2d(x, 3, 2, 1, return_indices=True)
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))


def test_a_process_compiling_in_background_queues_the_spin_waits_after_its_first_launches(
        monkeypatch):
    """Not before `SPIN_AFTER_LAUNCHES` parallel launches (a process's first calls do not
    wait for their load), then queued, and taken once compiled."""
    import types

    class Uncompiled:
        """A wait whose signatures are not compiled yet; called (by a helper thread that
        sees it once it is taken), it runs the real wait."""

        def __init__(self, real) -> None:
            self.real, self.__name__, self.overloads = real, real.__name__, {}

        def typeof_pyval(self, value):
            return type(value)

        def __call__(self, *args):
            return self.real(*args)

    module = types.SimpleNamespace(SIGNAL_WAIT=Uncompiled(spin.SIGNAL_WAIT),
                                   WAIT_SET=Uncompiled(spin.WAIT_SET))
    requested: list[str] = []
    monkeypatch.setattr(poolnd._threads, "COMPILE_IN_BACKGROUND", True)
    monkeypatch.setattr(launch, "_spin", None)
    monkeypatch.setattr(launch, "_doze_failed", True)  # (`test_doze.py` queues the doze)
    monkeypatch.setattr(launch, "_parallel_launches", 0)
    monkeypatch.setattr(launch, "kernels", lambda name: module)
    monkeypatch.setattr(launch.compiler, "request",
                        lambda body, signature: requested.append(body.__name__) or True)
    for _ in range(poolnd._threads.SPIN_AFTER_LAUNCHES - 1):
        launch._load_spin()
    assert requested == [] and launch._spin is None
    launch._load_spin()
    assert requested == ["_signal_wait", "_wait_set"] and launch._spin is None
    for body in (module.SIGNAL_WAIT, module.WAIT_SET):  # the background compiler is done
        body.overloads[(np.ndarray, np.ndarray, int, int, int)] = None
        body.overloads[(np.ndarray, int, int)] = None
    launch._load_spin()
    # (the module's waits, as the entry points they have; these stand-ins have none)
    assert launch._spin.SIGNAL_WAIT is module.SIGNAL_WAIT and not launch._spin_failed
    assert launch._spin.WAIT_SET is module.WAIT_SET


def test_machines_other_than_x86_keep_to_blocking_waits(monkeypatch, kernel_threads):
    """The waits read x86's time-stamp counter; elsewhere (where reading the cycle counter
    may trap) they are never compiled, and parallel launches still give the same results."""
    kernel_threads(2)
    x = np.random.default_rng(5).standard_normal((2, 8, 40, 40)).astype(np.float32)
    want = F.avg_pool2d(x, 3, 2, 1)
    monkeypatch.setattr(launch.platform, "machine", lambda: "aarch64")
    monkeypatch.setattr(launch, "_spin", None)
    monkeypatch.setattr(launch, "_spin_failed", False)
    monkeypatch.setattr(launch, "kernels", lambda name: pytest.fail("compiled the waits"))
    launch._load_spin()
    assert launch._spin_failed and launch._spin is None
    for _ in range(3):
        assert np.array_equal(F.avg_pool2d(x, 3, 2, 1), want)


def test_no_thread_spins_with_more_threads_than_cpus(monkeypatch, kernel_threads):
    """With more threads than CPUs (NUMBA_NUM_THREADS above them) a spinning thread would
    take a CPU from one with work: helpers and callers keep to blocking waits, and the
    launches give the same results."""
    kernel_threads(2)
    x = np.random.default_rng(6).standard_normal((2, 8, 40, 40)).astype(np.float32)
    want = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    launch._load_spin()
    assert launch._spin is not None
    monkeypatch.setattr(launch, "_CPUS", 1)
    calls = []
    real = launch._spin

    class Counting:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(real, name)

    monkeypatch.setattr(launch, "_spin", Counting())
    dozes: list[int] = []
    if launch._doze is not None:  # a dozing helper sleeps again at once when rung
        real_doze = launch._doze

        class Dozing:
            RING = staticmethod(real_doze.RING)

            @staticmethod
            def DOZE(*args):
                dozes.append(args[4])
                return real_doze.DOZE(*args)

        monkeypatch.setattr(launch, "_doze", Dozing())
    time.sleep(0.01)  # helpers that were spinning have stopped (0.1 ms)
    calls.clear()
    for _ in range(5):
        got = F.max_pool2d(x, 3, 2, 1, return_indices=True)
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    time.sleep(0.01)  # the helpers are back in their waits
    assert calls == [] and set(dozes) <= {0}
