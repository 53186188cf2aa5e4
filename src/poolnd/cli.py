"""The ``poolnd`` command line (its entry point); the commands live in ``poolnd._cli``."""

from ._cli.main import main

__all__ = ["main"]
