"""The command line's own errors: each prints as one line and sets the exit status."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["FIGURES_EXTRA", "FILES_EXTRA", "FileError", "MissingExtra", "UsageError", "need"]

FILES_EXTRA = "pip install 'poolnd[files]'"
FIGURES_EXTRA = "pip install 'poolnd[figures]'"


class FileError(ValueError):
    """A file that cannot be read or written as asked (exit status 1)."""

    status = 1


class UsageError(FileError):
    """Arguments that do not fit the input (exit status 2, like argparse's own errors)."""

    status = 2


class MissingExtra(FileError):
    """An optional dependency is not installed (exit status 1); the message names the
    extra that installs it."""


def need(module: str, purpose: str, extra: str = FILES_EXTRA) -> Any:
    """Import ``module``, or raise `MissingExtra` saying what needs it and how to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise MissingExtra(f"{purpose} needs {top}, which is not installed: {extra}") from None
