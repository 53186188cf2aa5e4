"""Every torch-named function in ``poolnd.functional`` documents itself: its own parameters
(each one of its signature), returns, raises and an example, filled in from shared text with
no field left over, as ``help()`` shows it."""

from __future__ import annotations

import inspect
import pydoc
import re

import pytest

import poolnd.functional as F

SECTIONS = ("Parameters", "Returns", "Raises", "Examples")


def _sections(doc: str) -> dict[str, str]:
    parts = re.split(r"^(\w[\w ]*)\n-+\n", doc, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _documented(parameters: str) -> set[str]:
    names = set()
    for line in parameters.splitlines():
        if line and not line.startswith(" "):
            head = line.split(" : ")[0]
            names.update(n.strip().lstrip("*") for n in head.split(","))
    return names


@pytest.mark.parametrize("name", F.__all__)
def test_each_function_documents_itself(name):
    fn = getattr(F, name)
    doc = inspect.getdoc(fn)
    assert doc, name
    assert not re.search(r"\{\w+\}", doc), f"{name}: a field left unfilled"
    sections = _sections(doc)
    for section in SECTIONS:
        assert sections.get(section, "").strip(), f"{name}: no {section} section"
    assert ">>>" in sections["Examples"]
    documented = _documented(sections["Parameters"])
    signature = set(inspect.signature(fn).parameters)
    assert documented == signature, name
    raised = {line for line in sections["Raises"].splitlines() if line and line[0] != " "}
    assert raised <= {"TypeError", "ValueError"} and raised, name


def test_help_shows_the_parameters():
    text = pydoc.render_doc(F.max_pool2d, renderer=pydoc.plaintext)
    for needle in ("kernel_size : int or tuple of two ints", "return_indices : bool",
                   "Raises", "ValueError", ">>> F.max_pool2d"):
        assert needle in text, needle
