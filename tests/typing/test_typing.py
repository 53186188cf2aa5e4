"""The package's types: ``mypy --strict`` accepts tests/typing/check_public_api.py (its
``assert_type`` checks hold), and ``mypy -p poolnd`` is clean under pyproject's [tool.mypy]."""

from __future__ import annotations

from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # mypy analyses NumPy and poolnd from scratch: about a minute


def _mypy(*args: str) -> None:
    stdout, stderr, status = api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "--no-incremental", *args]
    )
    assert status == 0, stdout + stderr


def test_public_api_checks_under_strict():
    # poolnd itself is checked by test_package_is_clean (under the project settings, as an
    # installed package is for its users): here only its types are used
    _mypy("--strict", "--follow-imports=silent", str(ROOT / "tests/typing/check_public_api.py"))


def test_package_is_clean():
    _mypy("-p", "poolnd")
