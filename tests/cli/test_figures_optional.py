"""matplotlib is optional (the ``figures`` extra): without it poolnd pools, ``poolnd demo``
runs its tour and says how to get the figure, and ``poolnd explain -o`` is one line naming
the extra. matplotlib is hidden from a subprocess by a ``sys.modules`` entry of None."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import poolnd

SRC = os.path.dirname(os.path.dirname(poolnd.__file__))
HIDE = "import sys; sys.modules['matplotlib'] = None; "


def _without_matplotlib(code, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", HIDE + code], capture_output=True, text=True,
                          env=env, cwd=cwd)


def _cli(*argv):
    return f"from poolnd.cli import main; sys.exit(main({list(argv)!r}))"


def test_matplotlib_is_the_figures_extra_not_a_dependency():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    meta = tomllib.loads((Path(SRC).parent / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("matplotlib") for d in meta["dependencies"])
    assert meta["optional-dependencies"]["figures"] == ["matplotlib>=3.5"]
    assert "matplotlib>=3.5" in meta["optional-dependencies"]["test"]


def test_pooling_and_the_demo_tour_without_matplotlib(tmp_path):
    run = _without_matplotlib("import numpy as np, poolnd; "
                              "print(poolnd.max_pool(np.arange(16.).reshape(1, 4, 4), (2, 2)))",
                              tmp_path)
    assert run.returncode == 0 and "[[ 5.  7.]" in run.stdout, run.stderr
    run = _without_matplotlib(_cli("demo"), tmp_path)
    assert run.returncode == 0, run.stderr
    assert "5. (no figure: matplotlib is not installed; pip install 'poolnd[figures]')" in \
        run.stdout.splitlines()
    assert "6. What to try next" in run.stdout and "4. Weak invariance" in run.stdout
    assert list(tmp_path.iterdir()) == []


def test_explain_without_matplotlib(tmp_path):
    run = _without_matplotlib(_cli("explain", "-o", "w.png"), tmp_path)
    assert run.returncode == 1
    assert run.stderr == ("poolnd explain: error: writing a figure needs matplotlib, which is "
                          "not installed: pip install 'poolnd[figures]'\n")
    assert list(tmp_path.iterdir()) == []
    run = _without_matplotlib(_cli("explain", "--kernel", "3", "--stride", "2"), tmp_path)
    assert run.returncode == 0 and "max_pool1d(x, kernel_size=3, stride=2)" in run.stdout
