"""The Examples in redcolor.geo's docstrings run and give what they show."""

from __future__ import annotations

import doctest

import pytest

from redcolor.geo import areas, frame


@pytest.mark.parametrize("module", [areas, frame], ids=lambda m: m.__name__)
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
