"""The ``poolnd`` command line."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the ``poolnd`` command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="poolnd", description="PyTorch-exact N-d pooling.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="the lecture's pooling examples, computed and drawn as text")
    bench = sub.add_parser(
        "bench", add_help=False,
        help="time poolnd against PyTorch, onnxruntime, NumPy and scikit-image (see --help)",
    )
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import demo_text

        print(demo_text())
        return 0
    from ._bench import main as bench_main

    return bench_main(args.bench_args)


if __name__ == "__main__":
    sys.exit(main())
