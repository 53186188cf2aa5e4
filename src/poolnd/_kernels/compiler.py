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

Processes sharing a cache share the work (`compile_shared`): a signature is compiled under a
lock file named after it, beside Numba's cache, so that of several processes starting at once
(a test run's workers, a pool of Dask workers) one compiles it and the others, once the lock
is theirs, load it from the cache instead of compiling it again.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import importlib
import os
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

__all__ = ["compile_shared", "drain", "import_now", "in_cache", "loaded", "request"]

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


@contextlib.contextmanager
def _cache_lock(body: Any, signature: tuple[Any, ...]) -> Iterator[None]:
    """Hold the lock file of ``body``'s ``signature`` in its cache folder (none without an
    on-disk cache, a writable cache folder or ``fcntl``)."""
    folder = getattr(getattr(body, "_cache", None), "cache_path", None)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, each process compiles
        yield
        return
    if folder is None:
        yield
        return
    key = f"{body.py_func.__module__}.{body.py_func.__qualname__}{signature}"
    name = f"poolnd-{hashlib.sha256(key.encode()).hexdigest()[:24]}.lock"
    try:
        os.makedirs(folder, exist_ok=True)
        handle = os.open(os.path.join(folder, name), os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:  # a read-only cache folder: Numba compiles without caching too
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # releases the lock


def in_cache(body: Any, signature: tuple[Any, ...]) -> bool:
    """Whether Numba's on-disk cache holds ``body`` compiled for ``signature`` (loading it
    takes milliseconds, against seconds to compile) and nothing is being compiled here (a
    load waits for Numba's compiler lock). It reads the cache's index the way
    `Dispatcher.compile` does; a Numba without that layout answers False."""
    if _pending:  # Numba compiles one thing at a time: the load would wait for it
        return False
    try:
        cache = body._cache
        key = cache._index_key(signature, body.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except Exception:  # another Numba's internals, or an unreadable index: compile
        return False


def compile_shared(body: Any, signature: tuple[Any, ...]) -> None:
    """Compile ``body`` for ``signature``, or load it from Numba's cache, under the
    signature's lock file: a process that waited for another compiling it loads the result."""
    if signature in body.overloads:
        return
    with _cache_lock(body, signature):
        body.compile(signature)


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
            compile_shared(item[1], item[2])
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
