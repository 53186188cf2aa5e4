"""The background compiler: kernels compile (or load from Numba's on-disk cache) on a thread
of their own while the calling thread answers with the NumPy forms, which give the same bits.

A new process's first call of a compiled kernel costs the Numba import and the kernel's
compilation (seconds, on a cold cache) or its load from the cache (tenths of a second). With
`poolnd._threads.COMPILE_IN_BACKGROUND` on (the default), `launch` asks for the kernel's
compiled signature; if it is not there yet it is queued here and the call runs its NumPy
form; later calls take the compiled form once it is ready.
With it off (``POOLND_COMPILE=wait``, the tests and ``poolnd bench``), the calling thread
imports and compiles as it needs.

The compiling thread is not a daemon, so that no compilation is cut off by the interpreter's
exit (a daemon thread is stopped wherever it is): when the main thread has finished, it ends
the compilation in flight (Numba writes its cache files whole, by renaming) and drops the
rest of the queue. A compilation that fails here is not retried here: the calling thread then
compiles it itself and sees the error.
"""

from __future__ import annotations

import collections
import importlib
import os
import threading
from types import ModuleType
from typing import Any

__all__ = ["drain", "import_now", "loaded", "request"]

_lock = threading.Lock()
_queue: collections.deque[tuple[Any, ...]] = collections.deque()
_pending: set[tuple[Any, ...]] = set()
_failed: set[tuple[Any, ...]] = set()
_modules: dict[str, ModuleType] = {}
_worker: threading.Thread | None = None


def loaded(name: str) -> ModuleType | None:
    """The kernel module ``name`` once fully imported (by any thread), else None."""
    return _modules.get(name)


def import_now(name: str) -> ModuleType:
    """Import the kernel module ``name`` in the calling thread."""
    module = importlib.import_module(name)
    _modules[name] = module
    return module


def _submit(item: tuple[Any, ...]) -> bool:
    """Queue ``item``; False if it failed here before (the caller does it itself)."""
    global _worker
    with _lock:
        if item in _failed:
            return False
        if item not in _pending:
            _pending.add(item)
            _queue.append(item)
        if _worker is None:
            _worker = threading.Thread(target=_work, name="poolnd-compiler")
            _worker.start()
    return True


def request(body: Any, signature: tuple[Any, ...]) -> bool:
    """Compile (or load) ``body`` for ``signature`` in the background; False if that failed
    before."""
    return _submit(("compile", body, signature))


def _work() -> None:
    global _worker
    while True:
        with _lock:
            if not _queue or not threading.main_thread().is_alive():
                _queue.clear()
                _pending.clear()
                _worker = None
                return
            item = _queue.popleft()
        try:
            item[1].compile(item[2])
        except BaseException:  # the calling thread compiles it itself and sees the error
            with _lock:
                _failed.add(item)
        finally:
            with _lock:
                _pending.discard(item)


def drain() -> None:
    """Wait until everything queued is compiled."""
    while (worker := _worker) is not None:
        worker.join()


def _forget() -> None:
    """In a forked child the compiling thread does not exist: start afresh."""
    global _lock, _worker
    _lock = threading.Lock()
    _worker = None
    _queue.clear()
    _pending.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)
