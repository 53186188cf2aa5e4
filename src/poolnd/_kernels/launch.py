"""How every compiled kernel is launched: serially when small, else in dynamic parallel chunks.

A compiled kernel is a `Form`: one Numba body ``body(*args, start, stop)`` over the work
items ``start .. stop - 1``, compiled with ``nogil=True``. A parallel launch splits the work
into contiguous chunks and runs the body on them from several Python threads at once: the
calling thread and poolnd's helper threads each take the next chunk until none is left
(dynamic scheduling, so a thread stalled by a busy machine does not hold up the others), and
the body runs without the GIL. Each output is computed by one chunk in a fixed order, so
results are bitwise identical for any thread count.

How the threads meet. A thread that sleeps on a lock costs tens of microseconds to wake on
a virtual machine, as much as a second thread saves on a sub-millisecond kernel. So, once
`poolnd._kernels.spin` is compiled, the threads wait by spinning without the GIL: a helper
that has run a chunk spins for about a tenth of a millisecond on a launch counter (then
sleeps until a launch wakes it), and the caller spins until the helper that ends the last
chunk sets the launch's flag (without the GIL, or, where a helper sleeps on Python's queue
without spinning first, from Python a moment before it lets the GIL go, so that the caller
finds the GIL free and does not sleep on it). Both fall back to blocking waits when the
time is up, and nothing spins where the threads outnumber the CPUs (a spinning thread would
then hold a CPU that a thread with work needs). How a helper sleeps: on Linux on x86-64,
in `poolnd._kernels.doze` (a futex wait without the GIL, on a bell that `prewake` rings as
a call that will launch begins, so that the helper is awake, spinning, when the launch is
published); elsewhere on Python's queue, which each launch puts itself on once per sleeper.
On this project's two-core machines this took a batch-1 max pooling's pullback from 0.30 to
0.23 ms when called back to back (`benchmarks/back_to_back.py`).

Why Python threads and not Numba's ``prange``: a ``parallel=True`` wrapper is a second
function to compile per kernel and dtype, and Numba's parallel compilation costs more than
the body's own (measured with `benchmarks/startup.py`), while a chunk of a few thousand cells
is long beside the microseconds a Python-level launch costs. Only the bodies are compiled,
so a cold first call compiles about half as much, nothing loads a Numba threading layer, and
launches from several Python threads at once need no lock (each launch has its own chunk
counter; the helpers take chunks of whichever launch they are handed, and the caller finishes
its own alone when they are busy).

The selectors hand `launch` the `Form` itself (never a name to look up), so a kernel that
does not exist fails when its module is imported, not when an input shape first selects it.
They get the Numba modules from `kernels`; `launch` answers False, running nothing, while the
kernel's signature is being compiled in the background (`compiler`): the selector then runs
its NumPy form.
"""

from __future__ import annotations

import itertools
import os
import platform
import queue
import sys
import threading
from collections.abc import Callable
from types import ModuleType, SimpleNamespace
from typing import Any, NamedTuple

import numpy as np

from .. import _threads as tuning
from . import compiler

__all__ = ["Form", "kernels", "launch", "prewake", "read_only"]


class Form(NamedTuple):
    """One compiled kernel: its body over the work items ``start .. stop - 1``, whose first
    ``reads`` operands are arrays it only reads (the input; `launch` hands them over
    read-only, so that a writable and a read-only input share one compiled signature)."""

    body: Callable[..., None]
    reads: int = 1

    @property
    def name(self) -> str:
        """The kernel's name (``sum_rows_3x3`` for ``_sum_rows_3x3_chunk``), for
        tests and messages."""
        name = str(getattr(self.body, "__name__", self.body))
        return name.removeprefix("_").removesuffix("_chunk")


class _Launch:
    """One parallel launch: its chunks, taken one at a time by whichever thread asks next,
    and at most ``helpers`` helper threads besides the caller."""

    __slots__ = ("args", "body", "chunks", "done", "error", "finish", "flag", "helpers", "join",
                 "take", "total")

    def __init__(self, body: Callable[..., None], args: tuple[Any, ...], chunks: int,
                 total: int, helpers: int = 1) -> None:
        self.body, self.args, self.chunks, self.total = body, args, chunks, total
        self.take = itertools.count().__next__  # atomic: one C call under the GIL
        self.finish = itertools.count(1).__next__
        self.join = itertools.count().__next__
        self.helpers = helpers
        # held until the last chunk ends, then released by the thread that ended it: the
        # caller's blocking wait acquires it (a bare lock: an Event, a Python object built
        # on a condition, costs several times as much to make, on every launch)
        self.done = threading.Lock()
        self.done.acquire()
        self.flag = np.zeros(1, np.int64)  # set without the GIL when the last chunk ends
        self.error: BaseException | None = None

    def run(self) -> bool:
        """Run chunks until none is left to take; True if this thread ended the last one."""
        chunks, total, last = self.chunks, self.total, False
        body, args, take, finish = self.body, self.args, self.take, self.finish
        while (i := take()) < chunks:
            try:
                body(*args, i * total // chunks, (i + 1) * total // chunks)
            except BaseException as error:  # re-raised by the caller, in its thread
                self.error = self.error or error
            if finish() == chunks:
                last = True
                self.args = ()  # a handed-over launch that a helper meets late holds nothing
                self.done.release()
        return last


# Launches reach the helper threads two ways. A helper that has just run a chunk spins for
# a while (`poolnd._kernels.spin`, without the GIL) on the launch counter ``_epoch[0]`` and
# then runs ``_current``; one that has spun long enough sleeps on ``_pending``, and a launch
# puts itself there once for each such sleeper (``_asleep``, counted under ``_asleep_lock``
# together with the counter, so that no sleeper misses a launch).
_pending: queue.SimpleQueue[_Launch] = queue.SimpleQueue()
_helpers: list[threading.Thread] = []
_helpers_lock = threading.Lock()
_asleep_lock = threading.Lock()
_asleep = 0
_epoch = np.zeros(1, np.int64)
_current: _Launch | None = None
_NO_FLAG = np.zeros(0, np.int64)
# `poolnd._kernels.spin`'s two waits once compiled (`_compiled`: their entry points)
_spin: SimpleNamespace | None = None
_spin_failed = False
# `poolnd._kernels.doze`'s two functions once compiled (Linux on x86-64; their entry
# points): helpers then sleep on ``_bell``, which `prewake` and every launch ring, not on
# ``_pending``
_doze: SimpleNamespace | None = None
_doze_failed = False
_bell = np.zeros(1, np.int64)
_X86 = ("x86_64", "amd64", "i386", "i686")
# the CPUs this process may run on: with more threads than that (NUMBA_NUM_THREADS above
# it), a spinning thread would take a CPU from one with work, so no thread spins
_CPUS = tuning.usable_cpus()
_parallel_launches = 0


def _help() -> None:
    global _asleep
    seen, flag = int(_epoch[0]), _NO_FLAG
    while True:
        job = None
        spin, doze = _spin, _doze
        alone = len(_helpers) < _CPUS  # (more threads than CPUs: no spinning)
        if spin is not None and alone and tuning.HELPER_SPIN_TICKS > 0:
            now = spin.SIGNAL_WAIT(flag, _epoch, seen, tuning.HELPER_SPIN_TICKS,
                                   tuning.HELPER_GRACE_TICKS)
            flag = _NO_FLAG
            if now != seen:
                seen, job = now, _current
        if job is None and doze is not None:
            # asleep on the bell without the GIL, the last chunk's flag set once it is let go
            seen = doze.DOZE(flag, _bell, _epoch, seen,
                             tuning.HELPER_WAKE_TICKS if alone else 0,
                             tuning.HELPER_GRACE_TICKS)
            flag, job = _NO_FLAG, _current
        elif job is None:
            with _asleep_lock:
                sleep = int(_epoch[0]) == seen
                _asleep += sleep
            # The last chunk's flag, when this thread ended it and did not spin: set only
            # now, a microsecond before `_pending.get` lets the GIL go, so that the caller,
            # which takes the GIL as soon as it sees the flag (after `CALLER_GRACE_TICKS`),
            # finds it free; had it found this thread holding it, it would have slept on
            # the GIL and been woken tens of microseconds later.
            if flag.shape[0]:
                flag[0] = 1
            flag = _NO_FLAG
            # a sleeper is handed its launch by the launch, which takes it off ``_asleep``
            job = _pending.get() if sleep else _current
            seen = int(_epoch[0])
        if job is not None and job.join() < job.helpers and job.run():
            flag = job.flag


def _ensure_helpers(count: int) -> None:
    """At least ``count`` helper threads (daemons: they hold no state between launches)."""
    if len(_helpers) >= count:
        return
    with _helpers_lock:
        while len(_helpers) < count:
            thread = threading.Thread(target=_help, name="poolnd-kernel", daemon=True)
            thread.start()
            _helpers.append(thread)


def _forget_helpers() -> None:
    """In a forked child the helper threads do not exist: start new ones when needed."""
    global _pending, _helpers_lock, _asleep_lock, _asleep, _current
    _helpers.clear()
    _pending = queue.SimpleQueue()
    _helpers_lock, _asleep_lock = threading.Lock(), threading.Lock()
    _asleep, _current = 0, None
    _bell[0] = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helpers)


def kernels(name: str) -> ModuleType:
    """The Numba kernel module ``name``, imported on first use (in the calling thread: it
    loads Numba, a few tenths of a second, and compiles nothing)."""
    return compiler.loaded(name) or compiler.import_now(name)


def read_only(a: Any) -> Any:
    """A read-only view of the array ``a``, or ``a`` when it is read-only already (Numba
    compiles a read-only array type apart from a writable one)."""
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


# (body, `_fingerprint` of its operands) of the launches known to be compiled, and the
# compiled code's entry point for them: Numba's own typing of the operands costs tens of
# microseconds a launch, this check one or two; and a chunk called through the entry point
# skips the dispatcher's choice of it (a few microseconds when another library's call has
# pushed the interpreter out of the caches). The entry point still checks each operand's
# type as it converts it.
_known: dict[tuple[Any, ...], Callable[..., None]] = {}


def _fingerprint(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """What Numba's type of each operand depends on: an array's dtype, rank, layout,
    writability and alignment; any other value's Python type."""
    out: list[Any] = []
    for a in args:
        if isinstance(a, np.ndarray):
            flags = a.flags
            out.append((a.dtype, a.ndim, flags.c_contiguous, flags.f_contiguous,
                        flags.writeable, flags.aligned))
        else:
            out.append(type(a))
    return tuple(out)


def _signature(body: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """The Numba signature of ``body`` called on ``args`` and the work bounds."""
    return tuple(body.typeof_pyval(a) for a in (*args, 0, 0))


def _entry(body: Any, signature: tuple[Any, ...]) -> Callable[..., Any]:
    """The entry point of ``body``'s code compiled for ``signature``; the body itself where
    the dispatcher keeps none."""
    entry = getattr(body.overloads.get(signature), "entry_point", None)
    return body if entry is None else entry


def _ready(body: Any, signature: tuple[Any, ...]) -> bool:
    """Whether ``body`` is compiled for ``signature`` (`_signature`), after loading it from
    Numba's cache if it is there; if not, queue its compilation."""
    if signature in body.overloads:
        return True
    if compiler.in_cache(body, signature):
        compiler.compile_shared(body, signature)
        return True
    return not compiler.request(body, signature)


def launch(form: Form, work: int, total: int, *args: Any, wait: bool = False) -> bool:
    """Run the kernel ``form`` over ``total`` work items; False, running nothing, when its
    signature is being compiled in the background (unless ``wait``: a kernel whose results
    the NumPy forms do not give bit for bit must run compiled).

    Small jobs (``work`` cell visits below `poolnd._threads.SERIAL_WORK`), and every job
    inside `poolnd._threads.serial`, run the body on the calling thread in one piece. Larger
    ones run in ``4 * threads`` to ``16 * threads`` chunks (as many as keep each at least
    `poolnd._threads.CHUNK_WORK` visits) on the calling thread and ``threads - 1`` helper
    threads, scheduled dynamically. An exception raised by a chunk is raised here
    once every chunk has ended.
    """
    args = tuple(map(read_only, args[:form.reads])) + args[form.reads:]
    known = (form.body, _fingerprint(args))
    body = _known.get(known)
    if body is None:
        signature = _signature(form.body, args)
        if tuning.COMPILE_IN_BACKGROUND and not wait:
            if not _ready(form.body, signature):
                return False
        else:
            compiler.compile_shared(form.body, signature)
        body = _known[known] = _entry(form.body, signature)
    threads = tuning.kernel_threads()
    if work < tuning.SERIAL_WORK or threads == 1 or total <= 1:
        body(*args, 0, total)
        return True
    # up to 16 chunks a thread for dynamic balance, but none smaller than CHUNK_WORK cell
    # visits where that leaves at least 4 a thread: each chunk is a call from Python into
    # the compiled code, taking the GIL, which costs more than it balances on small jobs
    chunks = min(total, 16 * threads, max(4 * threads, work // max(1, tuning.CHUNK_WORK)))
    helpers = min(threads, chunks) - 1
    job = _Launch(body, args, chunks, total, helpers)
    if len(_helpers) < threads - 1:
        _ensure_helpers(threads - 1)
    if (_spin is None and not _spin_failed) or (_spin is not None and _doze is None
                                                and not _doze_failed):
        _load_spin()
    _publish(job)
    if not job.run():
        spin = _spin if threads <= _CPUS else None
        # (a spinning or dozing helper sets the flag without the GIL: no grace needed)
        grace = 0 if tuning.HELPER_SPIN_TICKS > 0 or _doze is not None \
            else tuning.CALLER_GRACE_TICKS
        if spin is None or not spin.WAIT_SET(job.flag, tuning.CALLER_SPIN_TICKS, grace):
            job.done.acquire()
    if job.error is not None:
        raise job.error
    return True


def _publish(job: _Launch) -> None:
    """Hand ``job`` to the helpers: the spinning ones see the counter move, the sleeping ones
    get it from ``_pending``."""
    global _asleep, _current
    with _asleep_lock:
        _current = job
        _epoch[0] += 1
        wake = min(_asleep, job.helpers)
        _asleep -= wake
    for _ in range(wake):
        _pending.put(job)
    doze = _doze
    if doze is not None:
        doze.RING(_bell)


def prewake(work: int) -> None:
    """Ring the dozing helpers awake for a launch of ``work`` cell visits about to come from
    this thread (nothing where it will run serially, or no helper dozes): they wake while
    the caller makes its outputs and spin, without the GIL, until it is published
    (`poolnd._kernels.doze`)."""
    doze = _doze
    if doze is not None and work >= tuning.SERIAL_WORK and tuning.kernel_threads() > 1 \
            and len(_helpers) < _CPUS:
        doze.RING(_bell)


def _load_spin() -> None:
    """Set `_spin` to `poolnd._kernels.spin` once both its waits are compiled, and then, on
    Linux on x86-64, `_doze` to `poolnd._kernels.doze` once its two functions are.

    Calls that wait for compiling compile (or load) them here, at the first parallel launch.
    Otherwise they are queued for the background compiler after `poolnd._threads.
    SPIN_AFTER_LAUNCHES` parallel launches (loading them takes a tenth of a second, which a
    process's first calls should not wait for, nor its first kernels queue behind), and
    taken once compiled. Where they fail to compile, or on CPUs other than x86 (whose cycle
    counter user code may not be allowed to read), launches keep to their blocking waits;
    where the doze fails, or elsewhere than Linux on x86-64, helpers sleep on Python's queue.
    """
    global _spin, _spin_failed, _doze, _doze_failed, _parallel_launches
    if platform.machine().lower() not in _X86:  # the waits read x86's time-stamp counter
        _spin_failed = True
        return
    _parallel_launches += 1
    background = tuning.COMPILE_IN_BACKGROUND
    if background and _parallel_launches < tuning.SPIN_AFTER_LAUNCHES:
        return
    cell = np.zeros(1, np.int64)
    if _spin is None:
        try:
            _spin = _compiled("poolnd._kernels.spin", (
                ("SIGNAL_WAIT", (cell, cell, 0, 0, 0)), ("WAIT_SET", (cell, 0, 0))), background)
        except Exception:  # a platform whose LLVM lacks an intrinsic: blocking waits only
            _spin_failed = True
            return
    if _spin is None or _doze is not None or _doze_failed:
        return
    if sys.platform != "linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        _doze_failed = True  # (the futex system call, by its x86-64 number)
        return
    try:
        _doze = _compiled("poolnd._kernels.doze", (
            ("DOZE", (cell, cell, cell, 0, 0, 0)), ("RING", (cell,))), background)
    except Exception:  # no ``syscall`` to link: helpers sleep on the queue
        _doze_failed = True


def _compiled(name: str, functions: tuple[tuple[str, tuple[Any, ...]], ...],
              background: bool) -> SimpleNamespace | None:
    """The ``functions`` (name and arguments) of the kernel module ``name``, by those names,
    once each is compiled for its arguments: their entry points (`_entry`), which the
    launches and helpers call; None while one is queued for the background compiler;
    raises where one fails to compile."""
    module, ready, entries = kernels(name), True, {}
    for attr, args in functions:
        body = getattr(module, attr)
        signature = tuple(body.typeof_pyval(a) for a in args)
        if signature not in body.overloads:
            if background and compiler.request(body, signature):
                ready = False  # queued, or being compiled
                continue
            compiler.compile_shared(body, signature)  # (raises where compiling failed)
        entries[attr] = _entry(body, signature)
    return SimpleNamespace(**entries) if ready else None
