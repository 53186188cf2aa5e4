"""The file commands know every input axis (issue 16, item 1): decoded images are yx or yxc
and their colour is never pooled; OME-Zarr inputs take their axes from the metadata and
never pool t or c unless asked; --axes names them for .npy, TIFF and plain Zarr; outputs
keep them (TIFF axes, Zarr dimension_names, OME-Zarr axes with units)."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
import zarr
from skimage import data

import poolnd
from poolnd.cli import main


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    return status, capsys.readouterr().err


@pytest.fixture
def images(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    iio.imwrite("astronaut.png", data.astronaut())
    iio.imwrite("camera.png", data.camera())
    return tmp_path


def test_rgb_image_keeps_its_colours(images, capsys):
    assert _run(capsys, "pool", "astronaut.png", "half.png", "--op", "max", "--kernel", "2")[0] == 0
    out = iio.imread("half.png")
    assert out.shape == (256, 256, 3)  # colour is never pooled
    np.testing.assert_array_equal(out, poolnd.max_pool(data.astronaut(), (2, 2),
                                                       channels_last=True))
    assert _run(capsys, "pool", "astronaut.png", "half.tif", "--op", "min", "--kernel", "4")[0] == 0
    with tifffile.TiffFile("half.tif") as tif:
        assert tif.series[0].axes == "YXS" and tif.series[0].shape == (128, 128, 3)


def test_grayscale_image_is_yx(images, capsys):
    assert _run(capsys, "pool", "camera.png", "c.zarr", "--kernel", "2")[0] == 0
    z = zarr.open_array("c.zarr", mode="r")
    assert z.shape == (256, 256) and list(z.metadata.dimension_names) == ["y", "x"]
    status, err = _run(capsys, "pool", "camera.png", "o.npy", "--kernel", "2",
                       "--channels-last")
    assert status == 2 and "argument --channels-last" in err and "axes are yx" in err
    status, err = _run(capsys, "pool", "camera.png", "o.npy", "--kernel", "2", "--axes", "xy")
    assert status == 2 and "'camera.png' declares its axes as 'yx'" in err


def test_channel_first_stack_needs_axes_and_pools_space_only(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stack = np.stack([data.camera(), 255 - data.camera()]).astype(np.float32)  # (2, 512, 512)
    np.save("stack.npy", stack)
    status, err = _run(capsys, "pool", "stack.npy", "o.npy", "--kernel", "2")
    assert status == 2 and "name them with --axes" in err and "(shape (2, 512, 512))" in err
    assert _run(capsys, "pool", "stack.npy", "o.npy", "--kernel", "2", "--axes", "cyx",
                "--op", "avg")[0] == 0
    np.testing.assert_array_equal(np.load("o.npy"), poolnd.avg_pool(stack, (2, 2)))
    # TIFF keeps the axes: read back without --axes
    assert _run(capsys, "pool", "stack.npy", "o.tif", "--kernel", "2", "--axes", "cyx")[0] == 0
    with tifffile.TiffFile("o.tif") as tif:
        assert tif.series[0].axes == "CYX"
    assert _run(capsys, "pool", "o.tif", "o2.npy", "--kernel", "2")[0] == 0
    assert np.load("o2.npy").shape == (2, 128, 128)
    status, err = _run(capsys, "pool", "stack.npy", "o3.npy", "--kernel", "2", "--axes", "yx")
    assert status == 2 and "argument --axes: 'yx' names 2 axes but 'stack.npy' has 3" in err
    status, err = _run(capsys, "pool", "stack.npy", "o3.npy", "--kernel", "2", "--axes", "cyq")
    assert status == 2 and "argument --axes: expected letters from tczyx" in err


def test_z_stack_with_per_axis_kernel_and_channel_last_axes(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    vol = rng.integers(0, 1000, (6, 40, 50), dtype=np.uint16)
    np.save("vol.npy", vol)
    assert _run(capsys, "pool", "vol.npy", "o.zarr", "--kernel", "1,2,2", "--axes", "zyx",
                "--op", "max")[0] == 0
    z = zarr.open_array("o.zarr", mode="r")
    assert list(z.metadata.dimension_names) == ["z", "y", "x"]
    np.testing.assert_array_equal(z[:], poolnd.max_pool(vol[None], (1, 2, 2))[0])
    # a plain Zarr array's dimension_names are its axes: pooled again without --axes
    assert _run(capsys, "pool", "o.zarr", "o2.npy", "--kernel", "2")[0] == 0
    assert np.load("o2.npy").shape == (3, 10, 12)
    status, err = _run(capsys, "pool", "vol.npy", "o3.npy", "--kernel", "2,2", "--axes", "zyx")
    assert status == 2 and "argument --kernel: 2 values for the 3 pooled axes zyx" in err
    # a channel axis anywhere: zcyx is pooled along z, y and x only
    four = rng.standard_normal((4, 2, 10, 12)).astype(np.float32)
    np.save("zc.npy", four)
    assert _run(capsys, "pool", "zc.npy", "o4.npy", "--kernel", "2", "--axes", "zcyx")[0] == 0
    expected = np.moveaxis(poolnd.max_pool(np.moveaxis(four, 1, 0), (2, 2, 2)), 0, 1)
    np.testing.assert_array_equal(np.load("o4.npy"), expected)


def _ome_input(path, array, axes, version="0.4"):
    group = zarr.open_group(path, mode="w", zarr_format=2 if version == "0.4" else 3)
    group.create_array("0", data=array, chunks=array.shape)
    types = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}
    units = {"t": "second", "z": "micrometer", "y": "micrometer", "x": "micrometer"}
    entry = {"axes": [{"name": a, "type": types[a], **({"unit": units[a]} if a in units
                                                         else {})} for a in axes],
             "datasets": [{"path": "0", "coordinateTransformations": [
                 {"type": "scale", "scale": [1.0 if a in "tc" else 0.5 for a in axes]},
                 {"type": "translation", "translation": [0.0] * (len(axes) - 1) + [3.0]}]}],
             "name": "cells"}
    if version == "0.4":
        group.attrs["multiscales"] = [{"version": "0.4", **entry}]
    else:
        group.attrs["ome"] = {"version": "0.5", "multiscales": [entry]}


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_axes_from_metadata_t_and_c_never_pooled(tmp_path, capsys, monkeypatch,
                                                          version):
    monkeypatch.chdir(tmp_path)
    x = np.random.default_rng(1).standard_normal((3, 2, 4, 16, 20)).astype(np.float32)
    _ome_input("in.zarr", x, "tczyx", version)
    assert _run(capsys, "pool", "in.zarr", "out.zarr", "--kernel", "2", "--op", "avg")[0] == 0
    group = zarr.open_group("out.zarr", mode="r")
    assert group.metadata.zarr_format == (2 if version == "0.4" else 3)
    attrs = dict(group.attrs)
    entry = (attrs["multiscales"] if version == "0.4" else attrs["ome"]["multiscales"])[0]
    assert [a["name"] for a in entry["axes"]] == list("tczyx")
    assert entry["axes"][0]["unit"] == "second" and entry["axes"][4]["unit"] == "micrometer"
    np.testing.assert_allclose(group["0"][:], poolnd.avg_pool(x.reshape(6, 4, 16, 20),
                                                              (2, 2, 2)).reshape(3, 2, 2, 8, 10))
    scale, translation = entry["datasets"][0]["coordinateTransformations"]
    assert scale["scale"] == [1.0, 1.0, 1.0, 1.0, 1.0]  # 0.5 per cell, 2 cells per cell
    assert translation["translation"] == [0.0, 0.0, 0.25, 0.25, 3.25]
    # t is pooled only when asked
    assert _run(capsys, "pool", "in.zarr", "t.npy", "--kernel", "3,2", "--pool-axes", "tx",
                "--op", "max")[0] == 0
    got = np.load("t.npy")
    assert got.shape == (1, 2, 4, 16, 10)
    np.testing.assert_array_equal(got, x.reshape(3, 2, 4, 16, 10, 2).max(axis=(0, 5))[None])
    status, err = _run(capsys, "pool", "in.zarr", "o.npy", "--kernel", "2", "--axes", "tczyx")
    assert status == 0, err  # the same axes as declared are fine
    status, err = _run(capsys, "pool", "in.zarr", "o.npy", "--kernel", "2", "--axes", "ctzyx",
                       "--overwrite")
    assert status == 2 and "declares its axes as 'tczyx'" in err
