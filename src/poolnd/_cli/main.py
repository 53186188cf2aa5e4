"""The ``poolnd`` command line."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

__all__ = ["main", "version"]


def version() -> str:
    """The installed distribution's version (``importlib.metadata``), else the package's."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("poolnd")
    except PackageNotFoundError:  # run from a source tree that is not installed
        from .. import __version__

        return f"{__version__} (not installed)"


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> _Parser:
    parser = _Parser(prog="poolnd", description="PyTorch-exact N-d pooling.")
    parser.add_argument("--version", action="version", version=f"poolnd {version()}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    demo = sub.add_parser("demo", help="a guided tour: the lecture's examples, a figure, "
                                        "invariance numbers, what to try next")
    demo.add_argument("-o", "--output", default=None, metavar="PATH",
                      help="where to write the tour's figure (default: "
                           "poolnd-demo-windows.png in the current directory; needs "
                           "matplotlib: pip install 'poolnd[figures]')")
    demo.add_argument("--no-figure", action="store_true", help="print the text only")
    sub.add_parser(
        "bench", help="time poolnd against PyTorch, onnxruntime, NumPy and scikit-image"
    )
    sub.add_parser(
        "explain", help="draw the windows of a pooling call (text, or a figure with -o), or "
                        "compare shift invariance (--invariance)"
    )
    sub.add_parser("pool", help="pool an array file (.npy, PNG/TIFF, Zarr, OME-Zarr), out of "
                                "core")
    sub.add_parser("pyramid", help="write an OME-Zarr multiscale pyramid by repeated pooling")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``poolnd`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # the harness parses its own options
        from .bench import main as bench_main

        return bench_main(argv[1:])
    if argv[:1] == ["explain"]:  # so does explain
        from .explain import main as explain_main

        return explain_main(argv[1:])
    if argv[:1] in (["pool"], ["pyramid"]):  # the file commands parse their own options
        from .files import main as files_main

        return files_main(argv)
    parser = _parser()
    if not argv:  # a bare ``poolnd``: what it can do
        parser.print_help()
        return 0
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad option (reported on one line)
        return int(exc.code or 0)
    if args.command == "demo":
        from .demo import DEFAULT_FIGURE
        from .demo import main as demo_main

        return demo_main(None if args.no_figure else (args.output or DEFAULT_FIGURE))
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
