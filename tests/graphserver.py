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


def sign_in(graph: Emulator, path, *, read_only: bool = False, config=None):
    """Sign in to the emulator through cadenced's device-code flow (the person approves
    the code as soon as it is shown); returns the SignInResult."""
    from connectors.microsoft.signin import sign_in as device_sign_in

    def approve(message: str) -> None:
        graph.approve_device(message.rsplit("enter the code ", 1)[1].split()[0])

    return device_sign_in(config or source_config(graph), path, client_id=graph.client_id,
                          read_only=read_only, device_code=True, echo=approve)


def source_config(graph: Emulator, name: str = "outlook", **keys):
    """A validated ``type = "microsoft"`` section pointed at the emulator."""
    from daemon.config import MicrosoftSource

    return MicrosoftSource(name=name, type="microsoft", api_root=graph.root,
                           authority=graph.root, ca_file=graph.ca_file, timeout_seconds=5,
                           client_id=graph.client_id, **keys)


def config_data(graph: Emulator, token_file, name: str = "outlook", **keys) -> dict:
    """The [[sources]] entry (a dict, for parse_config) of a source on the emulator."""
    return {"name": name, "type": "microsoft", "api_root": graph.root,
            "authority": graph.root, "ca_file": graph.ca_file, "timeout_seconds": 5,
            "client_id": graph.client_id, "token_file": str(token_file), **keys}
