"""Smoke test of the out-of-core benchmark: a small Zarr array pooled on a one-worker cluster
under a memory limit, its output tiles checked against NumPy."""

from __future__ import annotations

import importlib.util
import json
import pathlib

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "dask_outofcore.py"


def test_outofcore_benchmark_runs_within_its_memory_limit(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("dask_outofcore", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "ooc.json"
    status = bench.main(["--size-gib", "0.02", "--chunk", "256", "--workers", "1",
                         "--memory-limit", "1GiB", "--dir", str(tmp_path / "data"),
                         "--json", str(out)])
    assert status == 0
    text = capsys.readouterr().out
    assert "random output tiles equal the in-memory NumPy result" in text
    data = json.loads(out.read_text())
    assert data["within_limit"] is True
    assert data["results"][0]["seconds"] > 0
