"""Docstrings written once and filled in: shared parameter text of a family of functions.

A docstring holds ``{name}`` fields; `fill` replaces each with its text. Under
``python -OO`` docstrings are stripped (``None``), and `fill` leaves them so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["CHANNELS_LAST", "INPUT_SHAPE_ERROR", "INPUT_TYPE_ERROR", "RAISES", "fill"]

# Text shared by the torch-named functions of every family (``{spatial}`` is filled per rank:
# ``L``, ``H, W`` or ``D, H, W``).

CHANNELS_LAST = """channels_last : bool, default False
        The channels are the last axis, in and out: ``(N, {spatial}, C)`` or
        ``({spatial}, C)``."""

RAISES = """
    Raises
    ------
    TypeError
        {type_error}
    ValueError
        {value_error}
"""

INPUT_TYPE_ERROR = (
    "``input`` is not a real numeric array of a dtype the op takes, or an argument has the\n"
    "        wrong type (a float or a bool where an int goes, a flag that is not a bool)"
)

INPUT_SHAPE_ERROR = (
    "``input`` has neither ``(C, {spatial})`` nor ``(N, C, {spatial})`` dimensions, or a\n"
    "        channel or spatial size of 0"
)


def fill(fn: Callable[..., Any], **fields: str) -> None:
    """Replace each ``{name}`` of ``fn``'s docstring with ``fields[name]``, in the order given,
    so that a field's text may hold fields given after it.

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
    # the wrapped functions too (`functools.wraps`' ``__wrapped__``), which documentation tools
    # that unwrap a function read
    target: Any = fn
    while target is not None:
        target.__doc__ = doc
        target = getattr(target, "__wrapped__", None)
