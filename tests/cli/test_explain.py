"""``poolnd explain``: window geometry against torch, the text rendering worked by hand, the
figure's contents, the command line and its errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from hypothesis import given
from hypothesis import strategies as st

import poolnd

# the explain command's private units (geometry, text, figure), tested directly; then the
# public entry point
from poolnd._cli import explain as _explain
from poolnd._cli.explain import default_input, explain, render_text, windows_figure
from poolnd.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


# -------------------------------------------------------------------------------------------
# geometry: the cells explain says each window reads give torch's outputs


@st.composite
def configs(draw):
    nd = draw(st.sampled_from([1, 2]))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    ceil = draw(st.booleans())
    size = tuple((k - 1) * d + 1 + draw(st.integers(0, 5)) for k, d in zip(kernel, dilation))
    return nd, size, kernel, stride, padding, dilation, ceil


@given(configs(), st.integers(0, 2**32 - 1))
def test_max_windows_reproduce_torch(config, seed):
    nd, size, kernel, stride, padding, dilation, ceil = config
    x = np.random.default_rng(seed).integers(-5, 6, size=size).astype(np.float64)
    values, indices = getattr(tF, f"max_pool{nd}d")(
        torch.from_numpy(x)[None], kernel, stride, padding, dilation, ceil, return_indices=True)
    e = explain("max", x, kernel, stride, padding, dilation, ceil)
    assert e.out.shape == tuple(values.shape[1:])
    for index in np.ndindex(*e.out.shape):
        cells = [c for c in e.window(index) if e.kind(c) == "input"]
        assert max(x[c] for c in cells) == values[(0, *index)].item()
        expected = np.unravel_index(indices[(0, *index)].item(), x.shape)
        assert tuple(e.selected[index]) == tuple(int(i) for i in expected)
        assert all(e.kind(c) in ("padding", "outside") for c in e.window(index)
                   if c not in cells)


@given(configs(), st.integers(0, 2**32 - 1))
def test_avg_windows_reproduce_torch(config, seed):
    nd, size, kernel, stride, padding, _, ceil = config
    x = np.random.default_rng(seed).integers(-5, 6, size=size).astype(np.float64)
    expected = getattr(tF, f"avg_pool{nd}d")(torch.from_numpy(x)[None], kernel, stride, padding,
                                             ceil).numpy()[0]
    e = explain("avg", x, kernel, stride, padding, 1, ceil)
    assert e.selected is None
    for index in np.ndindex(*e.out.shape):
        kinds = [e.kind(c) for c in e.window(index)]
        total = sum(x[c] for c, k in zip(e.window(index), kinds) if k == "input")
        divisor = kinds.count("input") + kinds.count("padding")  # count_include_pad
        assert total / divisor == pytest.approx(expected[index], rel=1e-12)


def test_extent_covers_padding_and_ceil_overhang():
    e = explain("max", default_input((6, 6)), 3, 2, 1, ceil_mode=True)
    # 4 windows per axis starting at -1, 1, 3, 5: the last reads 5, 6 (padding) and 7 (past)
    assert e.out.shape == (4, 4)
    assert e.extent(0) == (-1, 7) and e.extent(1) == (-1, 7)
    assert [e.kind((r, 0)) for r in (5, 6, 7)] == ["input", "padding", "outside"]


# -------------------------------------------------------------------------------------------
# text, worked by hand


def test_text_1d_lecture_example_with_padding():
    # windows over positions -1..1, 1..3, 3..5, 5..7 of [1 2 -1 0 2 3 -2 0]: maxima 2, 2, 3, 3
    # found at 1, 1, 5, 5
    text = render_text(explain("max", default_input((8,)), 3, 2, 1))
    assert text.splitlines() == [
        "max_pool1d(x, kernel_size=3, stride=2, padding=1): input 8 -> output 4",
        "pad = padding (-inf, never the maximum); [v] = the window's maximum",
        "position    -1    0    1    2    3    4    5    6    7    8",
        "input      pad    1    2   -1    0    2    3   -2    0  pad",
        "out[0]     pad    1  [2]                                     -> 2",
        "out[1]               [2]   -1    0                           -> 2",
        "out[2]                           0    2  [3]                 -> 3",
        "out[3]                                   [3]   -2    0       -> 3",
        "output   2 2 3 3",
    ]


def test_text_1d_dilation_leaves_gaps_and_ceil_overhang_is_marked():
    # kernel 2, dilation 3, stride 3, ceil_mode, 8 cells: windows {0, 3}, {3, 6} and
    # {6, 9}, whose 9 lies past the input (no padding): maxima 7 (at 3), 7 (at 3), 3 (at 6)
    text = render_text(explain("max", [5.0, 1, 2, 7, 0, 4, 3, 6], 2, 3, 0, 3, True))
    assert text.splitlines() == [
        "max_pool1d(x, kernel_size=2, stride=3, dilation=3, ceil_mode=True): input 8 -> output 3",
        "[v] = the window's maximum; cells a dilated window skips are left blank; "
        "out = beyond the padded input (ceil_mode): ignored",
        "position    0   1   2   3   4   5   6   7   8   9",
        "input       5   1   2   7   0   4   3   6 out out",
        "out[0]      5         [7]                          -> 7",
        "out[1]                [7]           3              -> 7",
        "out[2]                            [3]         out  -> 3",
        "output   7 7 3",
    ]


def test_text_2d_lists_windows_and_counts_reads():
    x = np.arange(16.0).reshape(4, 4)
    text = render_text(explain("max", x, 2, 3, 1))
    # windows start at -1 and 2 along each axis: rows/columns {-1, 0} and {2, 3}
    assert "  out[0, 0] = 0: rows -1..0 x columns -1..0 (3 padding cells, max at (0, 0))" in text
    assert "  out[1, 1] = 15: rows 2..3 x columns 2..3 (max at (3, 3))" in text
    # row and column 1 are never read (stride 3 > kernel 2)
    counts = text.split("how many windows read each input cell (0: never read)\n")[1]
    assert counts.splitlines() == [
        "     0 1 2 3",
        "   0 1 0 1 1",
        "   1 0 0 0 0",
        "   2 1 0 1 1",
        "   3 1 0 1 1",
    ]


def test_text_2d_average_and_padding_marks():
    text = render_text(explain("avg", np.ones((3, 3)), 2, 2, 1))
    assert text.splitlines()[:2] == [
        "avg_pool2d(x, kernel_size=2, padding=1): input 3x3 -> output 2x2",
        "· = padding (0, counted in the divisor)",
    ]
    assert "   -1  ·  ·  ·  ·" in text  # the top padding row
    assert "  out[0, 0] = 0.25: rows -1..0 x columns -1..0 (3 padding cells)" in text


# -------------------------------------------------------------------------------------------
# the figure


def _patches(fig, suffix=""):
    return [p for ax in fig.axes for p in ax.patches
            if (p.get_gid() or "").startswith("window") and (p.get_gid() or "").endswith(suffix)]


def test_figure_draws_every_window_ring_and_output():
    e = explain("max", default_input((7, 7)), 3, 2, 1)
    fig = windows_figure(e)
    assert len(fig.axes) == 2
    boxes = [p for p in _patches(fig) if p.get_gid().count(" ") == 1]
    assert sorted(p.get_gid() for p in boxes) == sorted(
        f"window {i},{j}" for i in range(4) for j in range(4))
    assert len({p.get_edgecolor() for p in boxes}) == 16  # a colour per window
    rings = _patches(fig, " max")
    assert len(rings) == 16
    # each ring sits on the cell torch selects
    for ring in rings:
        i, j = map(int, ring.get_gid().split()[1].split(","))
        assert ring.center == (e.selected[i, j][1] + 0.5, e.selected[i, j][0] + 0.5)
    assert len(_patches(fig, " output")) == 16
    padding = [p for p in fig.axes[0].patches if p.get_label() == "padding"]
    assert len(padding) == 9 * 9 - 7 * 7
    assert "ring: the window's maximum" in fig.texts[-1].get_text()


def test_figure_dilation_outlines_each_cell():
    e = explain("max", default_input((9,)), 3, 2, 2, 2)
    fig = windows_figure(e)
    assert len(_patches(fig, " cell")) == 3 * e.out.shape[0]
    assert "dashed: a dilated window's span" in fig.texts[-1].get_text()


def test_figure_average_has_no_rings_and_ceil_cells_are_dotted():
    e = explain("avg", default_input((6, 6)), 3, 2, 1, ceil_mode=True)
    fig = windows_figure(e)
    assert _patches(fig, " max") == []
    outside = [p for p in fig.axes[0].patches if p.get_label() == "outside"]
    assert len(outside) == 9 * 9 - 8 * 8
    assert "dotted: beyond the padded input (ceil_mode), ignored" in fig.texts[-1].get_text()


def test_figure_draws_a_few_of_many_windows_or_the_chosen_ones():
    e = explain("max", default_input((8, 8)), 2, 1)
    fig = windows_figure(e)  # 49 windows: the first 2x2 and the last
    assert len(_patches(fig, " max")) == 5
    assert "5 of 49 windows drawn" in fig.texts[-1].get_text()
    fig = windows_figure(e, [(3, 3)])
    assert [p.get_gid() for p in _patches(fig, " max")] == ["window 3,3 max"]
    with pytest.raises(ValueError, match=r"windows_figure\(\): windows must be output indices "
                                         r"of shape \(7, 7\); got \(7, 0\)"):
        windows_figure(e, [(7, 0)])


# -------------------------------------------------------------------------------------------
# the command line


def _cli(capsys, *args):
    status = main(["explain", *args])
    return status, capsys.readouterr().out


def test_cli_text_default_is_the_lecture_example(capsys):
    status, out = _cli(capsys)
    assert status == 0
    assert out == render_text(explain("max", [1.0, 2, -1, 0, 2, 3, -2, 0], 2)) + "\n"


def test_cli_writes_figures(tmp_path, capsys):
    target = tmp_path / "windows.png"
    status, out = _cli(capsys, "--op", "max", "--kernel", "3", "--stride", "2", "--padding", "1",
                       "--size", "7x7", "-o", str(target))
    assert status == 0
    assert out == (f"wrote {target}: max_pool2d(x, kernel_size=3, stride=2, padding=1): "
                   f"input 7x7 -> output 4x4\n")
    assert target.read_bytes().startswith(PNG)
    svg = tmp_path / "w.svg"
    assert _cli(capsys, "--values", "1,2;3,4", "--op", "avg", "--kernel", "1x2", "-o",
                str(svg))[0] == 0
    assert svg.read_text().lstrip().startswith("<?xml")


def test_cli_values_dilation_window_and_seed(capsys):
    _, out = _cli(capsys, "--values", "1,5,2,8,3", "--kernel", "2", "--stride", "1",
                  "--dilation", "2")
    assert out.splitlines()[0] == ("max_pool1d(x, kernel_size=2, stride=1, dilation=2): "
                                   "input 5 -> output 3")
    _, first = _cli(capsys, "--size", "3x3", "--seed", "1")
    _, again = _cli(capsys, "--size", "3x3", "--seed", "1")
    _, other = _cli(capsys, "--size", "3x3", "--seed", "2")
    assert first == again != other


def test_cli_invariance(tmp_path, capsys):
    status, out = _cli(capsys, "--invariance")
    assert status == 0
    rows = [line.split()[0] for line in out.splitlines()[-4:]]
    assert rows == ["max", "average", "blur", "max-blur"]
    target = tmp_path / "inv.png"
    assert _cli(capsys, "--invariance", "--stride", "3", "-o", str(target))[0] == 0
    assert target.read_bytes().startswith(PNG)


@pytest.mark.parametrize(("args", "message"), [
    (["--kernel", "9"], "max_pool1d(): output size must be at least 1"),
    (["--kernel", "3y"], "argument --kernel: expected an int or ints joined by 'x' (3, 3x2); "
                         "got '3y'"),
    (["--values", "1,a"], "argument --values: expected numbers split by ',' (rows by ';'); "
                          "got '1,a'"),
    (["--op", "lp"], "argument --op: invalid choice: 'lp'"),
    (["--op", "avg", "--dilation", "2"], "explain(): dilation must be 1 for op='avg' (average "
                                         "pooling has no dilation); got 2"),
    (["--size", "2x2x2"], "explain(): x must be a non-empty 1D or 2D plane; got shape (2, 2, 2)"),
    (["--size", "4x4", "--window", "2x0", "-o", "never.png"],
     "windows_figure(): windows must be output indices of shape (2, 2); got (2, 0)"),
    (["--invariance", "--stride", "1"], "--invariance needs a single stride of at least 2; "
                                        "got 1"),
])
def test_cli_errors(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "never.png").exists()


@pytest.mark.parametrize(("call", "exc", "message"), [
    (lambda: explain("min", [1.0], 1), ValueError,
     r"explain\(\): op must be one of \['max', 'avg'\]; got 'min'"),
    (lambda: explain("max", np.ones((0, 2)), 1), ValueError,
     r"explain\(\): x must be a non-empty 1D or 2D plane; got shape \(0, 2\)"),
    (lambda: explain("max", ["one", "two"], 1), TypeError,
     r"explain\(\): x must be an array of real numbers; got \['one', 'two'\]"),
    (lambda: explain("max", [1.0, 2], (1, 1)), ValueError,
     r"max_pool1d\(\): kernel_size must be a single int or a tuple of 1 ints"),
    (lambda: explain("max", [1.0, 2], 2, 1, 2), ValueError,
     r"max_pool1d\(\): padding must be at most half the dilated kernel"),
])
def test_explain_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_import_poolnd_does_not_import_matplotlib():
    code = ("import sys, numpy as np, poolnd; "
            "poolnd.invariance.compare(np.ones((1, 1, 4, 4))); "
            f"import {_explain.__name__}; "
            "print('matplotlib' in sys.modules)")
    src = str(Path(poolnd.__file__).parents[1])  # this checkout's src/
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("page, prefix", [("README.md", "docs/"), ("docs/figures.md", "")])
def test_figures_are_made_by_the_commands_shown(page, prefix, tmp_path, capsys):
    # every figure the README and the site's figures page show comes from a command the page
    # lists, which still draws it at the same size (the pixels themselves depend on the
    # matplotlib version); pages under docs/ link figures relative to docs/
    import re

    from matplotlib.image import imread

    root = Path(__file__).resolve().parents[2]
    text = (root / page).read_text()
    commands = re.findall(r"^poolnd (explain .*) -o (docs/figures/\S+\.png)$", text, re.M)
    shown = {"docs/" + rel for rel in re.findall(rf"\]\({prefix}(figures/\S+\.png)\)", text)}
    assert shown and {target for _, target in commands} == shown
    for args, target in commands:
        out = tmp_path / Path(target).name
        assert main([*args.split(), "-o", str(out)]) == 0
        assert imread(out).shape == imread(root / target).shape, target
    capsys.readouterr()
