"""Writing outputs without ever losing a file: same-file checks and atomic replacement.

`check_distinct` compares an input and an output as files (resolved paths, so symlinks and
``a.zarr`` / ``./a.zarr/`` count as one; ``os.path.samefile``, so hard links do too; and a
Zarr directory inside the other). `Staged` gives a temporary name beside the output; the
work writes there, and `Staged.commit` moves it into place in one step (``rename`` for a
new path or a file, Linux's ``renameat2(RENAME_EXCHANGE)`` to swap a directory in), so a
run that fails, is interrupted or is killed leaves the previous output and the input as
they were.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import secrets
import shutil
from typing import Any

from .errors import FileError, UsageError

__all__ = ["PARTIAL", "Staged", "check_distinct", "check_writable"]

PARTIAL = ".poolnd-partial-"  # the marker in a temporary output's name


def _real(path: str) -> str:
    return os.path.realpath(os.path.abspath(path.rstrip("/\\") or path))


def check_distinct(inp: str, out: str, flag: str = "the output") -> None:
    """Refuse an output that is the input, or holds it, or lies inside it."""
    ri, ro = _real(inp), _real(out)
    same = ri == ro
    if not same and os.path.exists(inp) and os.path.exists(out):
        try:
            same = os.path.samefile(inp, out)
        except OSError:
            same = False
    if same:
        raise UsageError(f"{flag} {out!r} is the input file {inp!r} (compared as files: "
                         f"{ro}); write to another path")
    if ro.startswith(ri + os.sep):
        raise UsageError(f"{flag} {out!r} lies inside the input {inp!r}; write it elsewhere")
    if ri.startswith(ro + os.sep):
        raise UsageError(f"{flag} {out!r} holds the input {inp!r}; replacing it would lose "
                         f"the input")


def check_writable(out: str, overwrite: bool | None, flag: str = "the output") -> None:
    """The output's folder exists and is writable; an existing output needs ``overwrite``
    (``None``: replacing is always allowed, as for figures)."""
    parent = os.path.dirname(os.path.abspath(out.rstrip("/\\") or out))
    if not os.path.isdir(parent):
        raise FileError(f"cannot write {out!r}: no such directory {os.path.dirname(out)!r}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FileError(f"cannot write {out!r}: the directory {parent!r} is not writable")
    if overwrite is False and os.path.lexists(out):
        raise FileError(f"{out!r} exists; pass --overwrite to replace it")


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: str, b: str) -> bool:
    """Swap paths ``a`` and ``b`` in one step (Linux ``renameat2``); False where unsupported."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return done == 0


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


class Staged:
    """A temporary path beside ``target`` (same directory and suffix) to write to; `commit`
    moves it into place, and leaving the ``with`` block without committing removes it.

    Examples
    --------
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> with Staged(target) as tmp:
    ...     with open(tmp, "w") as f:
    ...         _ = f.write("new")
    ...     print(os.path.basename(tmp)[:22], os.path.exists(target))
    .a.txt.poolnd-partial- False
    >>> with open(target) as f:
    ...     f.read()
    'new'
    """

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/\\") or target
        folder, name = os.path.split(self.target)
        suffix = os.path.splitext(name)[1]
        self.path = os.path.join(folder, f".{name}{PARTIAL}{secrets.token_hex(4)}{suffix}")
        self.committed = False

    def __enter__(self) -> str:
        return self.path

    def __exit__(self, kind: Any, *rest: object) -> None:
        if kind is None and not self.committed:
            self.commit()
        if not self.committed:
            _remove(self.path)

    def commit(self) -> None:
        """Move the written temporary path onto the target, replacing what was there."""
        target, tmp = self.target, self.path
        if not os.path.lexists(target):
            os.rename(tmp, target)
        elif not os.path.isdir(tmp) and not (os.path.isdir(target)
                                             and not os.path.islink(target)):
            os.replace(tmp, target)  # a file over a file: atomic
        elif _exchange(tmp, target):
            _remove(tmp)  # now the previous output
        else:  # no atomic exchange here: keep the old one under the temporary name meanwhile
            old = tmp + ".old"
            os.rename(target, old)
            os.rename(tmp, target)
            _remove(old)
        self.committed = True
