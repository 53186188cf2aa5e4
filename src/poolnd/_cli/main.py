"""The ``poolnd`` command line."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


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
    parser = argparse.ArgumentParser(prog="poolnd", description="PyTorch-exact N-d pooling.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a guided tour: the lecture's examples, a figure, "
                                        "invariance numbers, what to try next")
    demo.add_argument("-o", "--output", default=None, metavar="PATH",
                      help="where to write the tour's figure (default: "
                           "poolnd-demo-windows.png in the current directory)")
    demo.add_argument("--no-figure", action="store_true", help="print the text only")
    sub.add_parser(
        "bench", help="time poolnd against PyTorch, onnxruntime, NumPy and scikit-image"
    )
    sub.add_parser(
        "explain", help="draw the windows of a pooling call (text, or a figure with -o), or "
                        "compare shift invariance (--invariance)"
    )
    sub.add_parser("pool", help="pool an array file (.npy, PNG/TIFF, Zarr), out of core")
    sub.add_parser("pyramid", help="write an OME-Zarr multiscale pyramid by repeated pooling")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import DEFAULT_FIGURE
        from .demo import main as demo_main

        return demo_main(None if args.no_figure else (args.output or DEFAULT_FIGURE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
