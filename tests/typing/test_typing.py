"""The package's types: ``mypy -p poolnd`` is clean under pyproject's [tool.mypy], and mypy
with every ``--strict`` flag accepts tests/typing/check_public_api.py (its ``assert_type``
checks hold). The two runs share one cache, so the second reads poolnd's modules from it
rather than analysing them (and NumPy) again."""

from __future__ import annotations

from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # mypy analyses NumPy, torch and poolnd from scratch: 25 s


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One mypy cache for both runs (a fresh one: nothing from an earlier session)."""
    return tmp_path_factory.mktemp("mypy-cache")


def _mypy(cache, *args: str) -> None:
    stdout, stderr, status = api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache), *args]
    )
    assert status == 0, stdout + stderr


def test_package_is_clean(cache):
    _mypy(cache, "-p", "poolnd")


def test_public_api_checks_under_strict(cache):
    # the file sets the --strict flags for itself; poolnd, checked above under the project
    # settings (as an installed package is for its users), comes from the shared cache
    strict = (ROOT / "tests/typing/check_public_api.py").read_text()
    assert "# mypy: disallow-any-generics" in strict and "disallow-untyped-defs" in strict
    _mypy(cache, str(ROOT / "tests/typing/check_public_api.py"))
