"""pytest plugin: the ``graph`` fixture, a started Microsoft Graph and identity emulator
(tests/graph_emulator.py) per test, over TLS with the tests' CA (the ``pki`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graph_emulator import Emulator


@pytest.fixture
def graph(pki) -> Iterator[Emulator]:
    """A running :class:`graph_emulator.Emulator`; ``graph.ca_file`` is the CA to trust."""
    emulator = Emulator(pki.server_context())
    emulator.ca_file = str(pki.ca_file)
    try:
        yield emulator
    finally:
        emulator.stop()
