"""Fixtures of the infrastructure tests: the template as written, and as it would deploy."""

from __future__ import annotations

import pytest

from .stack import translate, written


@pytest.fixture(scope="module")
def template() -> dict:
    """template.yaml as written (short tags as their long forms)."""
    return written()


@pytest.fixture(scope="module")
def deployed() -> dict:
    """The template after SAM's transform, with the defaults of every parameter."""
    return translate()
