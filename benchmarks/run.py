"""Run the poolnd benchmark: ``python benchmarks/run.py [OPTIONS]`` (same as ``poolnd bench``)."""

from __future__ import annotations

import sys

from poolnd._cli.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
