"""pytest plugin: the ``google`` fixture, a started local Google emulator per test.

Register with ``pytest_plugins`` or import the fixture into a test module::

    from googleserver import google  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from google_emulator import Emulator


@pytest.fixture
def google() -> Iterator[Emulator]:
    """A running :class:`google_emulator.Emulator`, stopped after the test."""
    emulator = Emulator()
    try:
        yield emulator
    finally:
        emulator.stop()
