"""Errors in the command line's own words (issue 16, item 5): one line, no traceback, exit
status 2 for usage and 1 for failures, naming the flag and the file; a missing optional
dependency names the extra; a format that cannot hold the result is refused before any
work; corrupt files name the file and what was expected; --version, python -m poolnd, a
bare poolnd; explain's and demo's -o follow the same rules."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version

import imageio.v3 as iio
import numpy as np
import pytest

import poolnd
from poolnd._cli import files as _files_cmd
from poolnd.cli import main

SRC = os.path.dirname(os.path.dirname(poolnd.__file__))


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.err


def _one_line(err, prog="poolnd pool"):
    assert err.count("\n") == 1 and err.startswith(f"{prog}: error: "), err
    assert "Traceback" not in err


def _python(*args, shim=""):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    code = shim + "import sys, runpy; sys.argv = ['poolnd', *sys.argv[1:]]; " \
                  "runpy.run_module('poolnd', run_name='__main__')"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, env=env)


def test_version_python_m_and_a_bare_poolnd():
    run = _python("--version")
    assert run.returncode == 0 and run.stdout.strip() == f"poolnd {version('poolnd')}"
    bare = _python()
    assert bare.returncode == 0 and bare.stdout.startswith("usage: poolnd")
    assert "pyramid" in bare.stdout and bare.stderr == ""
    bad = _python("frobnicate")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "argument command: invalid choice: 'frobnicate'" in bad.stderr


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("vol.npy", np.zeros((4, 8, 8), np.uint8))
    np.save("gray.npy", np.zeros((8, 8), np.float32))
    iio.imwrite("g.png", np.zeros((8, 8), np.uint8))
    return tmp_path


@pytest.mark.parametrize(("argv", "message"), [
    (["vol.npy", "o.png", "--axes", "zyx", "--kernel", "2"],
     "'o.png' cannot hold the result: a .png image is 2-d grayscale (yx) or RGB/RGBA (yxc), "
     "and the result has axes zyx and shape (4, 8, 8); write .tif, .npy or .zarr instead"),
    (["g.png", "o.png", "--kernel", "2", "--op", "sum"],
     "'o.png' cannot hold the result: a .png image stores uint8 or uint16, and the result is "
     "uint64; write .tif, .npy or .zarr instead"),
    (["gray.npy", "o.jpg", "--kernel", "2"],
     "a .jpg image stores uint8, and the result is float32"),
])
def test_formats_that_cannot_hold_the_result_are_refused_before_any_work(files, capsys,
                                                                          monkeypatch, argv,
                                                                          message):
    def no_work(*args, **kwargs):
        raise AssertionError("pooled before refusing")

    monkeypatch.setattr(_files_cmd, "_in_layout", no_work)
    status, err = _run(capsys, "pool", *argv)
    assert status == 2 and message in err
    _one_line(err)
    assert not os.path.exists(argv[1])


@pytest.mark.parametrize(("module", "argv", "message"), [
    ("imageio", ["pool", "g.png", "o.npy", "--kernel", "2"],
     "reading 'g.png' needs imageio, which is not installed: pip install 'poolnd[files]'"),
    ("tifffile", ["pool", "gray.npy", "o.tif", "--kernel", "2"],
     "writing 'o.tif' needs tifffile, which is not installed: pip install 'poolnd[files]'"),
    ("dask", ["pyramid", "gray.npy", "p.zarr", "--levels", "1"],
     "poolnd pyramid needs dask, which is not installed: pip install 'poolnd[files]'"),
    ("zarr", ["pool", "gray.npy", "o.zarr", "--kernel", "2"],
     "needs zarr, which is not installed: pip install 'poolnd[files]'"),
])
def test_a_missing_optional_dependency_names_the_extra(files, capsys, monkeypatch, module,
                                                       argv, message):
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, module, None)
    status, err = _run(capsys, *argv)
    assert status == 1 and message in err
    _one_line(err, f"poolnd {argv[0]}")


def test_corrupt_files_name_the_file_and_what_was_expected(files, capsys):
    with open("g.png", "rb") as f:
        head = f.read(40)
    with open("cut.png", "wb") as f:
        f.write(head)  # a PNG signature, then nothing
    with open("bad.tif", "wb") as f:
        f.write(b"GIF89a not a tiff")
    os.mkdir("nothing.zarr")
    cases = [("cut.png", "cannot read 'cut.png' as a PNG image: "),
             ("bad.tif", "cannot read 'bad.tif': expected a TIFF file, but the file starts "
                         "with b'GIF89a n'"),
             ("nothing.zarr", "cannot read 'nothing.zarr': expected a Zarr array or group (a "
                              "zarr.json, .zarray or .zgroup file in the directory), found "
                              "none")]
    for name, message in cases:
        status, err = _run(capsys, "pool", name, "o.npy", "--kernel", "2")
        assert status == 1 and message in err, err
        _one_line(err)


def test_flags_are_named(files, capsys):
    status, err = _run(capsys, "pool", "gray.npy", "o.npy", "--kernel", "0")
    assert status == 2 and "argument --kernel: expected positive ints (1 or more); got '0'" in err
    status, err = _run(capsys, "pool", "gray.npy", "o.npy", "--kernel", "20")
    assert status == 2 and err.startswith(
        "poolnd pool: error: cannot pool 'gray.npy' (axes yx, shape (8, 8)) along yx with "
        "--kernel 20,20")
    status, err = _run(capsys, "pool", "gray.npy", "nodir/o.npy", "--kernel", "2")
    assert status == 1 and "cannot write 'nodir/o.npy': no such directory 'nodir'" in err
    status, err = _run(capsys, "pool", "gray.npy", "o.npy", "--kernel", "2", "--pool-axes", "c")
    assert status == 2 and "argument --pool-axes: 'c' is not an axis of 'gray.npy'" in err


@pytest.mark.parametrize(("argv", "status", "message"), [
    (["explain", "-o", "nodir/out.png"], 1,
     "poolnd explain: error: cannot write 'nodir/out.png': no such directory 'nodir'"),
    (["explain", "-o", "out.xyz"], 2,
     "poolnd explain: error: argument -o: cannot write a figure as 'out.xyz': use a suffix "
     "matplotlib writes ("),
    (["demo", "-o", "nodir/d.png"], 1,
     "poolnd demo: error: cannot write 'nodir/d.png': no such directory 'nodir'"),
    (["demo", "-o", "d.xyz"], 2,
     "poolnd demo: error: argument -o/--output: cannot write a figure as 'd.xyz'"),
])
def test_explain_and_demo_outputs(tmp_path, argv, status, message):
    run = _python(*argv[:-1], str(tmp_path / argv[-1]) if "nodir" not in argv[-1] else argv[-1])
    assert run.returncode == status
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith(message.replace("'out.xyz'", repr(str(tmp_path / "out.xyz")))
                                 .replace("'d.xyz'", repr(str(tmp_path / "d.xyz"))))
    assert run.stdout == ""  # refused before any work
