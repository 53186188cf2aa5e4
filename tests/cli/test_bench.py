"""Smoke test of the benchmark harness: one small case, every competitor, outputs checked."""

from __future__ import annotations

import json

from poolnd.cli import main


def test_bench_quick_case_runs_and_checks_against_torch(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--cases", "28x28", "--check", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "64x32x28x28" in table or "8x32x28x28" in table
    data = json.loads(out.read_text())
    assert data  # timings, medians and ratios were written
