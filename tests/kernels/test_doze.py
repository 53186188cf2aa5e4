"""How idle helpers sleep on Linux (`poolnd._kernels.doze`): a futex wait without the GIL on
the launch bell, rung awake before a launch (`launch.prewake`) and by the launch itself."""

from __future__ import annotations

import os
import sys
import threading
import time

import numpy as np
import pytest

import poolnd
import poolnd.functional as F
from poolnd._kernels import launch
from poolnd._ops import plans

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or os.uname().machine not in ("x86_64", "amd64"),
    reason="the futex doze is built for Linux on x86-64 only")

doze = launch.kernels("poolnd._kernels.doze")
_MS = 3_000_000  # time-stamp counter ticks: about a millisecond


class _Dozer:
    """A thread in `DOZE` on ``bell`` and ``state``, timing its CPU time and its return (a
    daemon: a failing test leaves no thread to wait for)."""

    def __init__(self, bell, state, seen, limit) -> None:
        self.flag = np.zeros(1, np.int64)  # set by `DOZE` as it starts
        self.got: int | None = None
        self.cpu = 0.0

        def run() -> None:
            cpu = time.thread_time()
            self.got = doze.DOZE(self.flag, bell, state, seen, limit, 0)
            self.cpu = time.thread_time() - cpu

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        deadline = time.perf_counter() + 30  # (a first call may wait for a compilation)
        while not self.flag[0] and time.perf_counter() < deadline:
            time.sleep(0.001)
        assert self.flag[0]

    def join(self) -> int | None:
        self.thread.join(5)
        assert not self.thread.is_alive()
        return self.got


def test_doze_sets_the_flag_and_returns_at_once_when_the_counter_has_moved():
    flag, bell, state = np.zeros(1, np.int64), np.ones(1, np.int64), np.full(1, 4, np.int64)
    assert doze.DOZE(flag, bell, state, 3, _MS, 0) == 4
    assert flag[0] == 1 and bell[0] == 0  # a ring from before the doze is spent
    start = time.perf_counter()
    assert doze.DOZE(np.zeros(0, np.int64), bell, state, 3, 0, 30 * _MS) == 4
    assert time.perf_counter() - start > 0.004  # the grace: about 10 ms


def test_a_dozing_thread_sleeps_until_rung_and_the_counter_moves():
    """Unrung, it sleeps (almost no CPU time); rung with no launch, it spins its limit
    (about 0.1 s here) and sleeps again; rung after the counter moved, it returns it."""
    bell, state = np.zeros(1, np.int64), np.zeros(1, np.int64)
    dozer = _Dozer(bell, state, 0, 100 * _MS)
    time.sleep(0.2)
    assert dozer.thread.is_alive()
    doze.RING(bell)  # a ring before a launch: spins a while, then sleeps
    time.sleep(0.5)
    assert dozer.thread.is_alive() and bell[0] == 0  # silenced once the spin was over
    state[0] = 1
    doze.RING(bell)
    assert dozer.join() == 1
    assert 0.01 < dozer.cpu < 0.35  # the spin after the first ring, not 0.7 s awake


def test_a_ring_wakes_every_dozing_thread():
    bell, state = np.zeros(1, np.int64), np.full(1, 9, np.int64)
    dozers = [_Dozer(bell, state, 9, 0) for _ in range(3)]
    time.sleep(0.05)
    assert all(d.thread.is_alive() for d in dozers)
    state[0] = 10
    doze.RING(bell)
    assert [d.join() for d in dozers] == [10, 10, 10]


def test_no_launch_is_missed_by_a_dozing_helper():
    """A helper dozes between launches, rung early or not (without a spin, so that each
    early ring finds it asleep or silencing the bell): every launch counter it is shown
    is seen, whatever the interleaving of rings and silencings."""
    bell, state = np.zeros(1, np.int64), np.zeros(1, np.int64)
    seen: list[int] = []

    def helper() -> None:
        now = 0
        while now < 2000:
            now = doze.DOZE(np.zeros(0, np.int64), bell, state, now, 0, 0)
            seen.append(now)

    thread = threading.Thread(target=helper)
    thread.start()
    rng = np.random.default_rng(0)
    for n in range(1, 2001):
        if rng.random() < 0.5:
            doze.RING(bell)  # as `prewake` does
        if rng.random() < 0.1:
            time.sleep(0.0002)
        state[0] = n
        doze.RING(bell)  # as `_publish` does
    thread.join(10)
    assert not thread.is_alive() and seen[-1] == 2000
    assert seen == sorted(seen)


def test_helpers_doze_between_launches_and_every_launch_is_whole(monkeypatch,
                                                                  kernel_threads):
    """With `HELPER_SPIN_TICKS` 0 (as in `poolnd bench`) helpers go straight back to the
    doze after each launch, with the last chunk's flag when they ended it; launches then
    ring them (pre-woken or not) and give the serial results."""
    kernel_threads(2)
    launch._load_spin()
    entries = [c.entry_point for c in doze.DOZE.overloads.values()]
    assert launch._doze.DOZE in entries  # (the compiled entry points of the doze's functions)
    assert launch._doze.RING in [c.entry_point for c in doze.RING.overloads.values()]
    monkeypatch.setattr(poolnd._threads, "HELPER_SPIN_TICKS", 0)
    real, calls = launch._doze, []

    class Recording:
        @staticmethod
        def DOZE(*args):
            calls.append(args)
            return real.DOZE(*args)

        RING = staticmethod(real.RING)

    monkeypatch.setattr(launch, "_doze", Recording())
    x = np.random.default_rng(8).standard_normal((4, 8, 64, 64)).astype(np.float32)
    with poolnd._threads.serial():
        want = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    time.sleep(0.01)  # helpers spinning from earlier tests are dozing
    paused = 0
    for pause in (0.0, 0.005):
        calls_before = len(calls)
        for _ in range(20):
            time.sleep(pause)
            got = F.max_pool2d(x, 3, 2, 1, return_indices=True)
            assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
        paused = len(calls) - calls_before
    time.sleep(0.01)
    assert paused >= 10  # woken for at least half of the 20 launches 5 ms apart
    assert {args[4] for args in calls} == {poolnd._threads.HELPER_WAKE_TICKS}
    assert any(args[0].shape == (1,) and args[0][0] == 1 for args in calls)  # flags set


def test_prewake_rings_only_before_a_parallel_launch(monkeypatch, kernel_threads):
    kernel_threads(2)
    launch._load_spin()
    launch._ensure_helpers(1)
    rings: list[int] = []

    class Recording:
        DOZE = staticmethod(doze.DOZE)

        @staticmethod
        def RING(bell):
            rings.append(1)
            doze.RING(bell)

    monkeypatch.setattr(launch, "_doze", Recording())
    launch.prewake(poolnd._threads.SERIAL_WORK - 1)
    assert rings == []  # a serial launch
    with poolnd._threads.serial():
        launch.prewake(poolnd._threads.SERIAL_WORK)
    assert rings == []
    launch.prewake(poolnd._threads.SERIAL_WORK)
    assert rings == [1]
    monkeypatch.setattr(launch, "_CPUS", 1)  # more threads than CPUs: nobody spins
    launch.prewake(poolnd._threads.SERIAL_WORK)
    assert rings == [1]


def _rings_then_allocates(monkeypatch, call) -> object:
    """``call()``'s result, asserting that the kernel layer rang the helpers for a parallel
    launch before it allocated its first array (`np.empty`: outputs or a gradient)."""
    from poolnd._kernels import sliding

    order: list[str] = []
    real_empty = np.empty
    monkeypatch.setattr(sliding, "prewake",
                        lambda work: order.append(f"ring {work >= poolnd._threads.SERIAL_WORK}"))
    monkeypatch.setattr(sliding.np, "empty",
                        lambda *a, **k: order.append("allocate") or real_empty(*a, **k))
    got = call()
    monkeypatch.setattr(sliding.np, "empty", real_empty)
    assert order[:2] == ["ring True", "allocate"]
    return got


def test_a_remembered_call_rings_the_helpers_before_making_its_outputs(monkeypatch,
                                                                         kernel_threads):
    kernel_threads(2)
    monkeypatch.setattr(plans, "ENABLED", True)
    plans.forget()
    x = np.random.default_rng(2).standard_normal((2, 16, 64, 64)).astype(np.float32)
    want = F.avg_pool2d(x, 3, 2, 1)
    got = _rings_then_allocates(monkeypatch, lambda: F.avg_pool2d(x, 3, 2, 1))
    assert np.array_equal(got, want)
    plans.forget()


@pytest.mark.parametrize("op, stride", [(F.max_pool2d, 1), (F.max_pool2d, 2),
                                        (F.avg_pool2d, 2), (F.avg_pool2d, 1)])
def test_a_pullback_rings_the_helpers_before_making_its_gradient(monkeypatch, op, stride):
    """The max pullback's gather (stride 1) and scatter (stride 2), and the average
    pullback's spread (tiles) and windowed scatter, ring the helpers for their launch
    before they allocate the input gradient, and give the same bits."""
    x = np.random.default_rng(3).standard_normal((4, 16, 64, 64)).astype(np.float32)
    kernel, padding = (3, 1) if stride == 1 else (2, 0)
    out, pullback = poolnd.vjp(op, x, kernel, stride, padding)
    g = np.random.default_rng(4).standard_normal(out.shape).astype(np.float32)
    want = pullback(g)
    got = _rings_then_allocates(monkeypatch, lambda: pullback(g))
    assert np.array_equal(got, want)


def test_elsewhere_than_linux_helpers_sleep_on_the_queue(monkeypatch, kernel_threads):
    kernel_threads(2)
    launch._load_spin()
    x = np.random.default_rng(5).standard_normal((2, 8, 40, 40)).astype(np.float32)
    want = F.avg_pool2d(x, 3, 2, 1)
    monkeypatch.setattr(launch, "_doze", None)
    monkeypatch.setattr(launch, "_doze_failed", False)
    monkeypatch.setattr(launch.sys, "platform", "win32")
    launch._load_spin()
    assert launch._doze is None and launch._doze_failed
    with launch._asleep_lock:  # the dozing helpers wake and find the doze gone
        launch._epoch[0] += 1
    doze.RING(launch._bell)
    for _ in range(3):
        time.sleep(0.002)
        assert np.array_equal(F.avg_pool2d(x, 3, 2, 1), want)


def test_a_doze_that_fails_to_compile_leaves_helpers_on_the_queue(monkeypatch,
                                                                   kernel_threads):
    kernel_threads(2)
    launch._load_spin()
    real_kernels = launch.kernels

    def kernels(name):
        if name == "poolnd._kernels.doze":
            raise RuntimeError("no syscall to link")
        return real_kernels(name)

    monkeypatch.setattr(launch, "_doze", None)
    monkeypatch.setattr(launch, "_doze_failed", False)
    monkeypatch.setattr(launch, "kernels", kernels)
    launch._load_spin()
    assert launch._doze is None and launch._doze_failed and launch._spin is not None
    x = np.random.default_rng(6).standard_normal((2, 8, 40, 40)).astype(np.float32)
    want = F.max_pool2d(x, 2)
    with launch._asleep_lock:
        launch._epoch[0] += 1
    doze.RING(launch._bell)
    for _ in range(3):
        assert np.array_equal(F.max_pool2d(x, 2), want)


_FORKED = """
import os
import numpy as np
import poolnd.functional as F
from poolnd._kernels import launch

x = np.arange(4 * 16 * 128 * 128, dtype=np.float32).reshape(4, 16, 128, 128)
want = x[:, :, 1::2, 1::2]
assert np.array_equal(F.max_pool2d(x, 2), want) and launch._helpers and launch._doze
launch._doze.RING(launch._bell)  # rung: the helper spins a while, then dozes again
pid = os.fork()
if pid == 0:
    ok = launch._bell[0] == 0 and not launch._helpers
    ok = ok and all(np.array_equal(F.max_pool2d(x, 2), want) for _ in range(3))
    os._exit(0 if ok and launch._helpers else 1)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""


def test_a_forked_child_starts_with_a_silent_bell():
    """The child has no helpers and a silent bell, and its launches start new ones (in a
    process of its own: forking this one, which may hold other libraries' threads, is
    unsafe)."""
    import subprocess

    env = {**os.environ, "POOLND_COMPILE": "wait", "NUMBA_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, "-c", _FORKED], capture_output=True, text=True,
                          timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0"]
