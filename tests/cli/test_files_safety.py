"""Nothing lost, ever (issue 16, item 4): input and output are compared as files (resolved
paths, symlinks, hard links, a Zarr directory given two ways), and every output is written
under a temporary name beside it and renamed into place when complete, so a run that fails,
is interrupted or is killed (SIGKILL, at several moments) leaves the previous output and the
input as they were."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import zarr

import poolnd
from poolnd._cli import io as _files
from poolnd._cli.safe import PARTIAL
from poolnd.cli import main


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    return status, capsys.readouterr().err


def _digest(path):
    """The bytes of a file, or of every file under a directory, as one hash."""
    h = hashlib.sha256()
    if os.path.isdir(path):
        for root, dirs, names in sorted(os.walk(path)):
            dirs.sort()
            for name in sorted(names):
                full = os.path.join(root, name)
                h.update(os.path.relpath(full, path).encode())
                with open(full, "rb") as f:
                    h.update(f.read())
    else:
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x = np.arange(2 * 20 * 30, dtype=np.float32).reshape(2, 20, 30)
    np.save("cam.npy", x[0])
    z = zarr.create_array("in.zarr", shape=x.shape, chunks=(1, 8, 8), dtype=x.dtype)
    z[:] = x
    return x


@pytest.mark.parametrize("make", ["same", "symlink", "hardlink", "dotted"])
def test_the_input_is_never_the_output(work, capsys, make):
    if make == "symlink":
        os.symlink("cam.npy", "link.npy")
        out = "link.npy"
    elif make == "hardlink":
        os.link("cam.npy", "hard.npy")
        out = "hard.npy"
    elif make == "dotted":
        os.mkdir("sub")
        out = "sub/../cam.npy"
    else:
        out = os.path.abspath("cam.npy")
    before = _digest("cam.npy")
    status, err = _run(capsys, "pool", "cam.npy", out, "--kernel", "2", "--overwrite")
    assert status == 2 and f"the output {out!r} is the input file 'cam.npy'" in err
    assert _digest("cam.npy") == before


@pytest.mark.parametrize("out", ["in.zarr/", "./in.zarr", "zlink.zarr", "in.zarr/x.zarr", "."])
def test_a_zarr_directory_given_two_ways(work, capsys, out):
    os.symlink("in.zarr", "zlink.zarr")
    before = _digest("in.zarr")
    target = out if out != "." else os.getcwd() + ".zarr"
    if out == ".":  # an output holding the input
        os.symlink(os.getcwd(), target)
    status, err = _run(capsys, "pool", "in.zarr", target, "--axes", "cyx", "--kernel", "2",
                       "--overwrite")
    assert status == 2, err
    assert ("is the input file" in err or "lies inside the input" in err
            or "holds the input" in err)
    assert _digest("in.zarr") == before


@pytest.mark.parametrize("out", ["o.npy", "o.zarr", "o.tif", "o.ome.zarr"])
@pytest.mark.parametrize("raised", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_a_failed_run_leaves_the_previous_output(work, capsys, monkeypatch, out, raised):
    assert _run(capsys, "pool", "in.zarr", out, "--axes", "cyx", "--kernel", "2")[0] == 0
    before, source = _digest(out), _digest("in.zarr")
    real_zarr, real_write = _files.write_zarr, _files.write

    def fail_midway(path, *args, **kwargs):  # the output is written, then the run fails
        real_zarr(path, *args, **kwargs)
        raise raised

    def fail_after_writing(path, array, **kwargs):
        real_write(path, array, **kwargs)
        raise raised

    monkeypatch.setattr(_files, "write_zarr", fail_midway)
    monkeypatch.setattr(_files, "write", fail_after_writing)
    status, err = _run(capsys, "pool", "in.zarr", out, "--axes", "cyx", "--kernel", "3",
                       "--overwrite")
    assert status == (130 if isinstance(raised, KeyboardInterrupt) else 1)
    assert err.count("\n") == 1 and "Traceback" not in err
    assert _digest(out) == before and _digest("in.zarr") == source
    assert not [n for n in os.listdir() if PARTIAL in n]  # the partial output is removed


def test_replacing_a_zarr_directory_swaps_it_whole(work, capsys):
    assert _run(capsys, "pool", "in.zarr", "o.zarr", "--axes", "cyx", "--kernel", "2")[0] == 0
    assert zarr.open_array("o.zarr", mode="r").shape == (2, 10, 15)
    assert _run(capsys, "pool", "in.zarr", "o.zarr", "--axes", "cyx", "--kernel", "5",
                "--overwrite")[0] == 0
    out = zarr.open_array("o.zarr", mode="r")
    np.testing.assert_array_equal(out[:], poolnd.max_pool(work, (5, 5)))
    assert sorted(os.listdir()) == ["cam.npy", "in.zarr", "o.zarr"]


def _long_run(out):
    code = "import sys; from poolnd.cli import main; sys.exit(main(sys.argv[1:]))"
    src = os.path.dirname(os.path.dirname(poolnd.__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", code, "pool", "big.zarr", out, "--axes",
                             "cyx", "--kernel", "3", "--stride", "1", "--padding", "1",
                             "--chunk-mb", "1", "--overwrite", "--quiet"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_when(proc, moment):
    """SIGKILL ``proc`` ``moment[1]`` seconds after ``moment[0]``: 'start', or 'partial'
    (its temporary output has appeared: it is writing)."""
    what, delay = moment
    if what == "partial":
        deadline = time.monotonic() + 300
        while not [n for n in os.listdir() if PARTIAL in n]:
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.02)
    time.sleep(delay)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()


@pytest.mark.slow
def test_sigkill_at_several_moments_leaves_output_and_input(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    x = np.random.default_rng(0).standard_normal((16, 256, 256)).astype(np.float32)
    z = zarr.create_array("big.zarr", shape=x.shape, chunks=(1, 32, 32), dtype=x.dtype)
    z[:] = x
    np.save("out.npy", np.zeros((3, 3)))  # previous outputs, unlike the new ones
    zarr.create_array("out.zarr", shape=(2, 2), chunks=(1, 1), dtype=np.int8)[:] = 7
    source = _digest("big.zarr")
    moments = [("out.zarr", ("start", 1.0)), ("out.zarr", ("partial", 0.0)),
               ("out.zarr", ("partial", 1.5)), ("out.npy", ("partial", 0.3))]
    for out, moment in moments:
        before = _digest(out)
        _kill_when(_long_run(out), moment)
        assert _digest(out) == before, (out, moment)
        assert _digest("big.zarr") == source, (out, moment)
    # a complete run then replaces the output (and the killed runs' partial files stay
    # hidden beside it, never in its place)
    assert _run(capsys, "pool", "big.zarr", "out.npy", "--axes", "cyx", "--kernel", "3",
                "--stride", "1", "--padding", "1", "--overwrite", "--quiet")[0] == 0
    np.testing.assert_array_equal(np.load("out.npy"), poolnd.max_pool(x, (3, 3), 1, 1))
    assert all(n.startswith(".") for n in os.listdir() if PARTIAL in n)
