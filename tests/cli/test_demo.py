"""``poolnd demo``: the tour's numbers (hand-worked, or from torch and antialiased-cnns), its
figure file and its command line."""

from __future__ import annotations

import numpy as np
import torch
from antialiased_cnns.blurpool import BlurPool1D

from poolnd._cli import demo as _demo  # private: the tour's text, figure and drawing
from poolnd.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def _row(values) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def test_lecture_sections_by_hand():
    text = _demo.demo_text()
    # the lecture's slides: max [2 0 3 0], average [1.5 -0.5 2.5 -1]
    assert "   max     |   2   |   0   |   3   |   0   |" in text
    assert "   average |  1.5  |  -0.5 |  2.5  |   -1  |" in text
    # channel 0 of 0..15 in 4x4: block maxima 5 7 / 13 15; channel 1 = 100 - channel 0
    assert "      4   5   6   7  ->  13  15" in text
    assert "      96   95   94   93  ->   92   90" in text
    # each block reversed: same max and mean
    assert "   max  [2.0, 0.0, 3.0, 0.0]   (was [2.0, 0.0, 3.0, 0.0])" in text
    assert "   max 100%, average 100%, blur 0%, max-blur 0%" in text


def test_translation_section_matches_torch_and_antialiased_cnns():
    text = _demo.demo_text()
    toy = torch.tensor([[[0.0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]]], dtype=torch.float64)
    moved = torch.roll(toy, 1, -1)
    for name, pool in (
        ("max pooling (F.max_pool1d(x, 2)):       ", torch.nn.MaxPool1d(2)),
        ("max-blur pooling (F.max_blur_pool1d(x)):",
         torch.nn.Sequential(torch.nn.MaxPool1d(2, 1), BlurPool1D(1).double())),
    ):
        line = f"   {name} {_row(pool(toy)[0, 0])} -> {_row(pool(moved)[0, 0])}"
        assert line in text, line
    table = text.split("   pooling     unchanged   change    unchanged   change\n")[1]
    rows = [line.split() for line in table.splitlines()[:4]]
    assert [r[0] for r in rows] == ["max", "average", "blur", "max-blur"]
    changes = {r[0]: float(r[2]) for r in rows}
    assert changes["max-blur"] < changes["blur"] < changes["average"] < changes["max"]


def test_main_writes_the_figure_and_says_where(tmp_path, capsys):
    target = tmp_path / "tour.png"
    assert _demo.main(target) == 0
    out = capsys.readouterr().out
    assert target.read_bytes().startswith(PNG)
    assert f"   written to {target.resolve()}" in out
    assert out.index("4. Weak invariance") < out.index("5. A figure") < out.index(
        "6. What to try next")


def test_cli_demo_default_figure_goes_to_the_current_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    assert (tmp_path / "poolnd-demo-windows.png").read_bytes().startswith(PNG)
    assert main(["demo", "-o", "other.png"]) == 0
    assert (tmp_path / "other.png").exists()
    capsys.readouterr()
    assert main(["demo", "--no-figure"]) == 0
    assert "5. (no figure written)" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.png",
                                                          "poolnd-demo-windows.png"]


def test_demo_figure_is_the_explain_figure(tmp_path, capsys):
    _demo.main(tmp_path / "a.png")
    main(["explain", "--size", "7x7", "--kernel", "3", "--stride", "2", "--padding", "1",
          "-o", str(tmp_path / "b.png")])
    capsys.readouterr()
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_draw_windows_1d():
    text = _demo.draw_windows_1d(np.array([1.0, 2, -1, 0]), 2,
                                 {"max": np.array([2.0, 0]), "avg": np.array([1.5, -0.5])})
    assert text.splitlines() == ["input |  1  2 | -1  0 |",
                                 "max   |   2   |   0   |",
                                 "avg   |  1.5  |  -0.5 |"]
