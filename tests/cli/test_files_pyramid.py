"""Pyramids that real clients read and place correctly (issue 16, items 2 and 3): every
written pyramid is opened by ome-zarr-py's reader and by ngff-zarr with validation, and its
level shapes, scales and translations equal those of ngff-zarr's own ``to_multiscales`` on
the same input; integer means round to nearest, ties to even, exactly."""

from __future__ import annotations

import imageio.v3 as iio
import ngff_zarr as nz
import numpy as np
import pytest
import zarr
from ome_zarr.io import parse_url
from ome_zarr.reader import Reader
from skimage import data

import poolnd
from poolnd.cli import main


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    return status, capsys.readouterr().err


def _open_with_clients(path):
    """The pyramid as ngff-zarr (validating against the NGFF schemas) and ome-zarr-py read
    it: [(shape, scale, translation)] per level, and ome-zarr-py's level shapes."""
    ms = nz.from_ngff_zarr(str(path), validate=True)
    levels = [(tuple(im.data.shape), dict(im.scale), dict(im.translation)) for im in ms.images]
    (node,) = list(Reader(parse_url(str(path)))())
    assert [tuple(d.shape) for d in node.data] == [lv[0] for lv in levels]
    return levels, ms, node


def _ngff_reference(array, dims, factors, levels, scale=None, translation=None):
    """ngff-zarr's own to_multiscales on the same input: [(shape, scale, translation)]."""
    image = nz.to_ngff_image(array, dims=list(dims), scale=scale, translation=translation)
    steps = [{d: f ** n for d, f in factors.items()} for n in range(1, levels + 1)]
    ms = nz.to_multiscales(image, scale_factors=steps)
    return [(tuple(im.data.shape), dict(im.scale), dict(im.translation)) for im in ms.images]


@pytest.fixture
def images(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    iio.imwrite("astronaut.png", data.astronaut())
    iio.imwrite("camera.png", data.camera())
    return tmp_path


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_camera_pyramid_matches_ngff_zarr(images, capsys, version):
    assert _run(capsys, "pyramid", "camera.png", "cam.zarr", "--levels", "4",
                "--ome-version", version)[0] == 0
    levels, _, node = _open_with_clients("cam.zarr")
    assert levels == _ngff_reference(data.camera(), "yx", {"y": 2, "x": 2}, 4)
    assert levels[2] == ((128, 128), {"y": 4.0, "x": 4.0}, {"y": 1.5, "x": 1.5})
    assert node.metadata["axes"] == [{"name": "y", "type": "space"},
                                     {"name": "x", "type": "space"}]


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_rgb_pyramid_keeps_colour_channels_with_omero(images, capsys, version):
    assert _run(capsys, "pyramid", "astronaut.png", "astro.zarr", "--levels", "3",
                "--ome-version", version, "--op", "max")[0] == 0
    levels, ms, node = _open_with_clients("astro.zarr")
    first = np.moveaxis(data.astronaut(), -1, 0)
    space = [(shape, {a: s[a] for a in "yx"}, {a: t[a] for a in "yx"})
             for shape, s, t in levels]
    assert space == _ngff_reference(first, "cyx", {"y": 2, "x": 2}, 3)
    assert all(s["c"] == 1.0 and t["c"] == 0.0 for _, s, t in levels)
    assert [lv[0] for lv in levels] == [(3, 512, 512), (3, 256, 256), (3, 128, 128),
                                        (3, 64, 64)]
    assert [c.color for c in ms.metadata.omero.channels] == ["FF0000", "00FF00", "0000FF"]
    assert node.metadata["channel_names"] == ["Red", "Green", "Blue"]
    level1 = np.asarray(node.data[1])
    np.testing.assert_array_equal(level1, poolnd.max_pool(first, (2, 2)))


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_z_stack_per_axis_factor_and_ome_input_placement(tmp_path, capsys, monkeypatch,
                                                         version):
    """--factor 1,2,2 reduces y and x only; an OME-Zarr input's scale and translation carry
    into every level as ngff-zarr computes them."""
    monkeypatch.chdir(tmp_path)
    vol = np.random.default_rng(0).random((5, 60, 44)).astype(np.float32)
    np.save("vol.npy", vol)
    assert _run(capsys, "pyramid", "vol.npy", "v.zarr", "--axes", "zyx", "--factor", "1,2,2",
                "--levels", "2", "--ome-version", version)[0] == 0
    levels, _, _ = _open_with_clients("v.zarr")
    assert levels == _ngff_reference(vol, "zyx", {"z": 1, "y": 2, "x": 2}, 2)
    # the pyramid as input of another pyramid: its level 0 placement is kept
    ref = nz.to_ngff_image(vol, dims=["z", "y", "x"], scale={"z": 2.0, "y": 0.5, "x": 0.5},
                           translation={"z": 1.0, "y": -3.0, "x": 7.0},
                           axes_units={"z": "micrometer", "y": "micrometer",
                                       "x": "micrometer"})
    nz.to_ngff_zarr("placed.zarr", nz.to_multiscales(ref, scale_factors=[2]), version=version)
    assert _run(capsys, "pyramid", "placed.zarr", "p.zarr", "--factor", "1,2,3",
                "--levels", "2", "--ome-version", version)[0] == 0
    levels, ms, _ = _open_with_clients("p.zarr")
    expected = _ngff_reference(vol, "zyx", {"z": 1, "y": 2, "x": 3}, 2,
                               scale={"z": 2.0, "y": 0.5, "x": 0.5},
                               translation={"z": 1.0, "y": -3.0, "x": 7.0})
    assert levels == expected
    assert [a.unit for a in ms.metadata.axes] == ["micrometer"] * 3


def test_levels_stop_at_one_block(images, capsys):
    status, err = _run(capsys, "pyramid", "camera.png", "c.zarr", "--levels", "20")
    assert status == 0
    assert err == ("poolnd pyramid: --levels 20 capped at 9: level 10 would make axis y (512 "
                   "cells) smaller than one 2-cell block\n")
    levels, _, _ = _open_with_clients("c.zarr")
    assert [lv[0] for lv in levels][-2:] == [(2, 2), (1, 1)]
    status, err = _run(capsys, "pyramid", "camera.png", "d.zarr", "--levels", "2",
                       "--factor", "1,3")
    assert status == 0 and err == ""
    levels, _, _ = _open_with_clients("d.zarr")
    assert [lv[0] for lv in levels] == [(512, 512), (512, 170), (512, 56)]


def _reference_round(x, k):
    """Block means of an integer image rounded half to even, through exact fractions."""
    h, w = (x.shape[0] // k) * k, (x.shape[1] // k) * k
    sums = x[:h, :w].astype(np.int64).reshape(h // k, k, w // k, k).sum(axis=(1, 3))
    q, r = np.divmod(sums, k * k)
    return (q + ((2 * r > k * k) | ((2 * r == k * k) & (q % 2 == 1)))).astype(x.dtype)


def test_integer_means_round_to_nearest_and_do_not_drift(images, capsys):
    full = float(data.camera().mean())
    assert _run(capsys, "pyramid", "camera.png", "n.zarr", "--levels", "6")[0] == 0
    assert _run(capsys, "pyramid", "camera.png", "t.zarr", "--levels", "6",
                "--rounding", "trunc")[0] == 0
    nearest, trunc = zarr.open_group("n.zarr", mode="r"), zarr.open_group("t.zarr", mode="r")
    means = [float(nearest[str(n)][:].mean()) for n in range(7)]
    assert all(abs(m - full) <= 0.5 for m in means), (full, means)
    # PyTorch's truncation loses a fraction of a grey level per level
    assert float(trunc["6"][:].mean()) < full - 1.5
    # each level is the exact rounded mean of the one before
    level = data.camera()
    for n in range(1, 7):
        level = _reference_round(level, 2)
        np.testing.assert_array_equal(nearest[str(n)][:], level)
        assert nearest[str(n)].dtype == np.uint8


def test_pool_rounds_exactly_with_padding_and_ceil_mode(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x = np.random.default_rng(3).integers(-100, 100, (2, 17, 23), dtype=np.int16)
    np.save("x.npy", x)
    for extra in ([], ["--exclude-pad"]):
        assert _run(capsys, "pool", "x.npy", "o.npy", "--axes", "cyx", "--op", "avg",
                    "--kernel", "3,4", "--stride", "2", "--padding", "1,2", "--ceil-mode",
                    "--overwrite", *extra)[0] == 0
        exact = poolnd.avg_pool(x.astype(np.float64), (3, 4), 2, (1, 2), ceil_mode=True,
                                count_include_pad=not extra)
        # float64 holds these small means' halves exactly: np.round is half to even
        np.testing.assert_array_equal(np.load("o.npy"), np.round(exact).astype(np.int16))
    assert _run(capsys, "pool", "x.npy", "t.npy", "--axes", "cyx", "--op", "avg",
                "--kernel", "3", "--rounding", "trunc")[0] == 0
    np.testing.assert_array_equal(np.load("t.npy"), poolnd.avg_pool(x, (3, 3)))
