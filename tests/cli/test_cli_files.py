"""``poolnd pool`` and ``poolnd pyramid`` on .npy, PNG/TIFF and Zarr files: the written
arrays equal the library's in-memory results (themselves tested against torch), pyramids
carry OME-Zarr multiscales metadata as the NGFF 0.4 / 0.5 specifications lay it out, lazy
inputs stay lazy, long work shows a progress bar, and every bad file or argument gives one
line on stderr and a non-zero status, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dask.array as da
import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
import zarr
from helpers import assert_identical

import poolnd
from poolnd._cli import files as _commands  # private: the pool command's worker, replaced
from poolnd._cli import io as _files  # private: the file reader, tested directly
from poolnd.cli import main


@pytest.fixture
def files(tmp_path, rng, monkeypatch):
    """A few input files, and the arrays they hold."""
    made = {
        "rgb.png": rng.integers(0, 256, (37, 41, 3), dtype=np.uint8),
        "gray.png": rng.integers(0, 256, (20, 17), dtype=np.uint8),
        "vol.tif": rng.standard_normal((9, 20, 22)).astype(np.float32),
        "a.npy": rng.standard_normal((2, 3, 30, 31)).astype(np.float32),
        "c.zarr": rng.standard_normal((3, 90, 110)).astype(np.float32),
    }
    for name, a in made.items():
        path = str(tmp_path / name)
        if name.endswith(".png"):
            iio.imwrite(path, a)
        elif name.endswith(".tif"):
            tifffile.imwrite(path, a)
        elif name.endswith(".npy"):
            np.save(path, a)
        else:
            z = zarr.create_array(path, shape=a.shape, chunks=(1, 32, 40), dtype=a.dtype)
            z[:] = a
    monkeypatch.chdir(tmp_path)
    return made


def _run(capsys, *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    err = capsys.readouterr().err
    return status, err


def test_pool_png_rgb_channels_last(files, capsys):
    status, _ = _run(capsys, "pool", "rgb.png", "out.png", "--op", "avg", "--kernel", "2",
                     "--channels-last", "--rounding", "trunc")
    assert status == 0
    expected = poolnd.avg_pool(files["rgb.png"], (2, 2), channels_last=True)
    assert_identical(iio.imread("out.png"), expected)


def test_pool_grayscale_png_to_npy_with_padding_pairs(files, capsys):
    status, _ = _run(capsys, "pool", "gray.png", "out.npy", "--op", "min", "--kernel", "3",
                     "--stride", "2", "--padding", "1:0,0:2", "--ceil-mode")
    assert status == 0
    # a grayscale image is yx: its columns are never channels
    assert _run(capsys, "pool", "gray.png", "o2.npy", "--kernel", "2",
                "--channels-last")[0] == 2
    assert status == 0
    expected = poolnd.min_pool(files["gray.png"][None], (3, 3), 2, ((1, 0), (0, 2)),
                               ceil_mode=True)[0]
    assert_identical(np.load("out.npy"), expected)


def test_pool_tiff_volume_in_3d(files, capsys):
    assert _run(capsys, "pool", "vol.tif", "out.tif", "--kernel", "2,2,2")[0] == 0
    assert_identical(tifffile.imread("out.tif"), poolnd.max_pool(files["vol.tif"][None],
                                                                 (2, 2, 2))[0])


def test_pool_npy_leading_axes_and_dilation(files, capsys):
    status, _ = _run(capsys, "pool", "a.npy", "out.npy", "--op", "max", "--kernel", "3",
                     "--stride", "2", "--padding", "2", "--dilation", "2", "--ndim", "2")
    assert status == 0
    expected = poolnd.max_pool(files["a.npy"], 3, 2, 2, 2, ndim=2)
    assert_identical(np.load("out.npy"), expected)


def test_large_npy_is_pooled_lazily_out_of_core(files, capsys, monkeypatch):
    monkeypatch.setattr(_files, "LAZY_BYTES", 1000)
    assert isinstance(_files.read("a.npy").array, da.Array)
    status, _ = _run(capsys, "pool", "a.npy", "out.npy", "--op", "sum", "--kernel", "2,3",
                     "--chunk-mb", "1")
    assert status == 0
    assert_identical(np.load("out.npy"), poolnd.sum_pool(files["a.npy"], (2, 3)))


def test_pool_zarr_to_zarr_keeps_storage_chunks(files, capsys):
    assert isinstance(_files.read("c.zarr").array, da.Array)
    status, _ = _run(capsys, "pool", "c.zarr", "out.zarr", "--op", "max", "--kernel", "3,3",
                     "--stride", "2", "--padding", "same")
    assert status == 0
    out = zarr.open_array("out.zarr", mode="r")
    assert out.chunks == (1, 32, 40)
    expected = poolnd.max_pool(files["c.zarr"], (3, 3), 2, "same")
    assert_identical(out[:], expected)
    assert _run(capsys, "pool", "c.zarr", "out.npy", "--op", "mean", "--kernel", "4,2",
                "--exclude-pad", "--padding", "1")[0] == 0
    assert_identical(np.load("out.npy"), poolnd.avg_pool(files["c.zarr"], (4, 2), None, 1,
                                                         count_include_pad=False))


def test_pool_on_a_cluster_of_worker_processes(files, capsys, monkeypatch):
    """Under a distributed client the lazy inputs and outputs travel to worker processes by
    reference (the file's path), not by content."""
    import distributed

    monkeypatch.setattr(_files, "LAZY_BYTES", 1000)
    # (the scheduler's HTTP server on a free port: with dashboard_address=None it takes
    # 8787, which a cluster in another test worker may hold, and the warning is an error)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as cluster, \
            distributed.Client(cluster):
        assert _run(capsys, "pool", "a.npy", "o.npy", "--op", "mean", "--kernel", "3,3",
                    "--padding", "1", "--chunk-mb", "1")[0] == 0
        assert _run(capsys, "pool", "c.zarr", "o.zarr", "--kernel", "2,3", "--stride", "1")[0] == 0
    assert_identical(np.load("o.npy"), poolnd.avg_pool(files["a.npy"], (3, 3), None, 1))
    assert_identical(zarr.open_array("o.zarr", mode="r")[:],
                     poolnd.max_pool(files["c.zarr"], (2, 3), 1))


def _check_multiscales(entry, version, axes, levels, factor, shapes):
    """The NGFF ``multiscales`` layout: axes, one dataset per level with a scale transform
    per axis, factor ** level on the space axes."""
    assert entry["axes"] == axes
    assert ("version" in entry) == (version == "0.4")
    if version == "0.4":
        assert entry["version"] == "0.4"
    assert [d["path"] for d in entry["datasets"]] == [str(n) for n in range(levels + 1)]
    for n, d in enumerate(entry["datasets"]):
        scale, translation = d["coordinateTransformations"]
        assert scale["type"] == "scale" and translation["type"] == "translation"
        assert scale["scale"] == [factor ** n if a["type"] == "space" else 1.0 for a in axes]
        # a pooled cell sits at the centre of the block of level 0 it covers
        assert translation["translation"] == [(factor ** n - 1) / 2 if a["type"] == "space"
                                              else 0.0 for a in axes]
    assert len(shapes) == levels + 1


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_pyramid_levels_and_ome_metadata(files, capsys, version):
    status, _ = _run(capsys, "pyramid", "c.zarr", "pyr.zarr", "--levels", "3", "--op", "mean",
                     "--ndim", "2", "--ome-version", version)
    assert status == 0
    group = zarr.open_group("pyr.zarr", mode="r")
    attrs = dict(group.attrs)
    if version == "0.5":
        assert group.metadata.zarr_format == 3
        assert attrs["ome"]["version"] == "0.5"
        (entry,) = attrs["ome"]["multiscales"]
    else:
        assert group.metadata.zarr_format == 2
        (entry,) = attrs["multiscales"]
        with open("pyr.zarr/1/.zarray") as f:
            assert json.load(f)["dimension_separator"] == "/"
    axes = [{"name": "c", "type": "channel"}, {"name": "y", "type": "space"},
            {"name": "x", "type": "space"}]
    level = files["c.zarr"]
    shapes = []
    for n in range(4):
        stored = group[str(n)]
        assert_identical(stored[:], level)
        if version == "0.5":
            assert list(stored.metadata.dimension_names) == ["c", "y", "x"]
        shapes.append(stored.shape)
        level = poolnd.pool(level, "mean", 2, 2, 0, 1, False, ndim=2)  # whole blocks only
    assert shapes == [(3, 90, 110), (3, 45, 55), (3, 22, 27), (3, 11, 13)]
    _check_multiscales(entry, version, axes, 3, 2, shapes)
    # an OME-Zarr input is read at full resolution, with its axes
    source = _files.read("pyr.zarr")
    assert source.axes == "cyx" and source.ome["axes"] == axes
    assert source.array.shape == (3, 90, 110)
    assert _run(capsys, "pool", "pyr.zarr", "o.npy", "--kernel", "2")[0] == 0
    assert np.load("o.npy").shape == (3, 45, 55)  # the two space axes only


def test_pyramid_of_an_rgb_png_is_channels_first(files, capsys):
    status, _ = _run(capsys, "pyramid", "rgb.png", "p.zarr", "--levels", "2", "--op", "max",
                     "--channels-last", "--factor", "3")
    assert status == 0
    group = zarr.open_group("p.zarr", mode="r")
    first = np.moveaxis(files["rgb.png"], -1, 0)
    assert_identical(group["0"][:], first)
    assert_identical(group["1"][:], poolnd.max_pool(first, (3, 3), 3))
    (entry,) = group.attrs["multiscales"]
    assert entry["datasets"][2]["coordinateTransformations"] == [
        {"type": "scale", "scale": [1.0, 9.0, 9.0]},
        {"type": "translation", "translation": [0.0, 4.0, 4.0]}]
    assert [c["color"] for c in group.attrs["omero"]["channels"]] == ["FF0000", "00FF00",
                                                                      "0000FF"]


def test_long_work_shows_a_progress_bar(files, capsys, monkeypatch):
    monkeypatch.setattr(_files, "PROGRESS_AFTER_S", 0.0)  # every run counts as long
    status, err = _run(capsys, "pool", "c.zarr", "o.zarr", "--kernel", "2,2")
    assert status == 0 and "Completed" in err and "100%" in err
    assert _run(capsys, "pool", "c.zarr", "o2.zarr", "--kernel", "2,2", "--quiet") == (0, "")


def _bad_files(tmp_path):
    (tmp_path / "broken.npy").write_bytes(b"not a numpy file")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG broken")
    zarr.open_group(str(tmp_path / "empty.zarr"), mode="w")
    g = zarr.open_group(str(tmp_path / "two.zarr"), mode="w")
    g.create_array("a", shape=(4, 4), dtype=np.float32)
    g.create_array("b", shape=(4, 4), dtype=np.float32)
    np.save(tmp_path / "big.npy", np.full((4, 4), 7, np.uint8))


ERRORS = [
    (["pool", "missing.npy", "o.npy", "--kernel", "2"], 1, "cannot read 'missing.npy': no such"),
    (["pool", "a.npy", "o.txt", "--kernel", "2"], 1, "unsupported file format of 'o.txt'"),
    (["pool", "a.npy", "a.npy", "--kernel", "2"], 2,
     "the output 'a.npy' is the input file 'a.npy'"),
    (["pool", "vol.tif", "a.npy", "--kernel", "2"], 1, "'a.npy' exists; pass --overwrite"),
    (["pool", "a.npy", "o.npy", "--kernel", "x"], 2,
     "argument --kernel: expected an int or comma-separated ints"),
    (["pool", "a.npy", "o.npy", "--kernel", "2", "--padding", "wide"], 2,
     "argument --padding: expected ints"),
    (["pool", "a.npy", "o.npy", "--kernel", "2", "--op", "median"], 2,
     "argument --op: invalid choice: 'median'"),
    (["pool", "a.npy", "o.npy"], 2, "the following arguments are required: --kernel"),
    (["pool", "a.npy", "o.npy", "--kernel", "0"], 2,
     "argument --kernel: expected positive ints (1 or more); got '0'"),
    (["pool", "a.npy", "o.npy", "--kernel", "40", "--ndim", "2"], 2,
     "cannot pool 'a.npy' (axes tcyx, shape (2, 3, 30, 31)) along yx with --kernel 40,40"),
    (["pool", "gray.png", "o.npy", "--kernel", "2", "--ndim", "3"], 2,
     "argument --ndim: 'gray.png' has 2 space axes (yx); leave --ndim out"),
    (["pool", "a.npy", "o.npy", "--kernel", "2"], 2,
     "the axes of 'a.npy' (shape (2, 3, 30, 31)) are not known: name them with --axes"),
    (["pool", "broken.npy", "o.npy", "--kernel", "2"], 1,
     "cannot read 'broken.npy': expected a NumPy .npy file, but the file starts with b'not a "
     "nu'"),
    (["pool", "broken.png", "o.npy", "--kernel", "2"], 1,
     "cannot read 'broken.png': expected a PNG image, but the file starts with"),
    (["pool", "empty.zarr", "o.npy", "--kernel", "2"], 1,
     "'empty.zarr' is a Zarr group with 0 arrays (none)"),
    (["pool", "two.zarr", "o.npy", "--kernel", "2"], 1,
     "'two.zarr' is a Zarr group with 2 arrays (a, b) and no OME-Zarr multiscales; name one "
     "with --component"),
    (["pool", "two.zarr", "o.npy", "--kernel", "2", "--component", "zz"], 1,
     "cannot open 'two.zarr' (component 'zz') as Zarr"),
    (["pool", "a.npy", "o.npy", "--kernel", "2", "--component", "a"], 1,
     "--component applies to Zarr inputs only"),
    (["pool", "nothing.zarr", "o.npy", "--kernel", "2"], 1,
     "cannot read 'nothing.zarr': no such Zarr directory"),
    (["pool", "big.npy", "o.png", "--kernel", "2,2", "--op", "sum"], 2,
     "'o.png' cannot hold the result: a .png image stores uint8 or uint16, and the result is "
     "uint64; write .tif, .npy or .zarr instead"),
    (["pyramid", "c.zarr", "p.zarr", "--levels", "-1"], 2,
     "argument --levels: must be 0 or more; got -1"),
    (["pyramid", "c.zarr", "p.zarr", "--levels", "2", "--factor", "1", "--ndim", "2"], 2,
     "argument --factor: at least one axis must be reduced"),
    (["pyramid", "c.zarr", "p.npy", "--levels", "2"], 2,
     "a pyramid is written to a .zarr directory (OME-Zarr); got 'p.npy'"),
    (["pyramid", "a.npy", "p.zarr", "--levels", "2"], 2,
     "the axes of 'a.npy' (shape (2, 3, 30, 31)) are not known: name them with --axes"),
    (["pyramid", "c.zarr", "p.zarr", "--levels", "1", "--ndim", "4"], 2,
     "argument --ndim: 'c.zarr' has shape (3, 90, 110); 4 space axes do not fit"),
    (["pyramid", "c.zarr", "p.zarr", "--levels", "1", "--axes", "cyx", "--factor", "2,2,2"],
     2, "argument --factor: 3 values for the 2 pooled axes yx of 'c.zarr'"),
]


@pytest.mark.parametrize(("argv", "status", "message"), ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors_are_one_line_and_a_nonzero_status(files, tmp_path, capsys, argv, status,
                                                  message):
    _bad_files(tmp_path)
    got, err = _run(capsys, *argv)
    assert got == status
    assert message in err, err
    assert err.count("\n") == 1 and err.startswith(f"poolnd {argv[0]}: error: "), err
    assert "Traceback" not in err


@pytest.mark.parametrize(("raised", "status", "message"), [
    (KeyboardInterrupt(), 130, "poolnd pool: interrupted"),
    (MemoryError(), 1, "poolnd pool: error: out of memory (use a Zarr input"),
    (RuntimeError("a\nmulti-line\n  message"), 1, "poolnd pool: error: a multi-line message"),
])
def test_interruptions_and_unexpected_failures_are_one_line(files, capsys, monkeypatch, raised,
                                                             status, message):
    def fail(args):
        raise raised

    monkeypatch.setattr(_commands, "_pool", fail)
    got, err = _run(capsys, "pool", "a.npy", "o.npy", "--kernel", "2")
    assert got == status
    assert err.startswith(message) and err.count("\n") == 1


def test_help_and_the_top_level_command(capsys):
    assert main(["pool", "--help"]) == 0
    assert "--ceil-mode" in capsys.readouterr().out
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "pool" in out and "pyramid" in out and "demo" in out


def test_console_command_exits_without_a_traceback(tmp_path):
    code = "import sys; from poolnd.cli import main; sys.exit(main(sys.argv[1:]))"
    src = os.path.dirname(os.path.dirname(poolnd.__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", code, "pool", str(tmp_path / "none.npy"),
                          str(tmp_path / "o.npy"), "--kernel", "2"], capture_output=True,
                         text=True, env=env)
    assert run.returncode == 1
    assert run.stderr.startswith("poolnd pool: error: cannot read") and "Traceback" not in \
        run.stderr
