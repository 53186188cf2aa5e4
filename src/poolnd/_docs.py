"""Docstrings written once and filled in: shared parameter text of a family of functions.

A docstring holds ``{name}`` fields; `fill` replaces each with its text. Under
``python -OO`` docstrings are stripped (``None``), and `fill` leaves them so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["fill"]


def fill(fn: Callable[..., Any], **fields: str) -> None:
    """Replace each ``{name}`` of ``fn``'s docstring with ``fields[name]``.

    Examples
    --------
    >>> def f():
    ...     '''Pool {what}.'''
    >>> fill(f, what="planes")
    >>> f.__doc__
    'Pool planes.'
    """
    doc = fn.__doc__
    if not doc:  # None under python -OO
        return
    for name, text in fields.items():
        doc = doc.replace("{" + name + "}", text)
    fn.__doc__ = doc
