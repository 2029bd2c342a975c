"""`cadenced auth microsoft`, `auth status` and `auth revoke` for a Microsoft source, with
the real msal against the emulator: the device-code flow, the authorization-code flow
with PKCE through the loopback redirect, least-privilege scopes, a 0600 token cache."""

from __future__ import annotations

import json
import re
import stat
import urllib.parse

import httpx
from click.testing import CliRunner

from connectors.microsoft.http import verify
from connectors.microsoft.signin import sign_in
from connectors.microsoft.token import TokenFile
from daemon.cli.main import main

from graphserver import source_config


def write_config(folder, graph, **keys):
    entry = {"name": "outlook", "type": "microsoft", "api_root": graph.root,
             "authority": graph.root, "ca_file": graph.ca_file, "timeout_seconds": 5,
             "token_file": str(folder / "ms.json"), **keys}
    lines = ['[owner]', 'email = "me@example.com"', '[[sources]]']
    lines += [f"{k} = {json.dumps(v)}" for k, v in entry.items()]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def cadenced(*args):
    return CliRunner().invoke(main, list(args))


def test_device_code_sign_in_status_and_revoke(graph, tmp_path):
    graph.auto_approve = True
    config = write_config(tmp_path, graph)
    signed = cadenced("auth", "microsoft", "--config", str(config), "--device-code",
                      "--client-id", graph.client_id)
    assert signed.exit_code == 0, signed.output
    assert "enter the code" in signed.output and "write the agenda link" in signed.output
    token = tmp_path / "ms.json"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    saved = json.loads(token.read_text())
    assert saved["scopes"] == ["Calendars.ReadWrite"] and saved["client_id"] == graph.client_id
    [grant] = [r for r in graph.requests if r.path.endswith("/devicecode")]
    assert set(grant.body["scope"].split()) == {"Calendars.ReadWrite", "offline_access",
                                                "openid", "profile"}

    status = cadenced("auth", "status", "--config", str(config), "--json")
    [state] = json.loads(status.output)
    assert state["signed_in"] and state["can_write"] and state["account"] == graph.owner

    again = cadenced("auth", "microsoft", "--config", str(config), "--device-code",
                     "--read-only")  # the client id saved with the last sign-in
    assert again.exit_code == 0 and "read-only" in again.output
    assert json.loads(token.read_text())["scopes"] == ["Calendars.Read"]

    revoked = cadenced("auth", "revoke", "--config", str(config), "--source", "outlook")
    assert revoked.exit_code == 0 and not token.exists()
    assert "myapplications.microsoft.com" in revoked.output


def test_without_a_client_id_the_fix_is_named(graph, tmp_path):
    config = write_config(tmp_path, graph)
    result = cadenced("auth", "microsoft", "--config", str(config))
    assert result.exit_code == 2 and "--client-id" in result.output


def browser(graph):
    """A person's browser: opens the consent page, follows Microsoft's redirect home."""
    def open_url(url: str) -> None:
        with httpx.Client(verify=verify(graph.ca_file), timeout=5) as http:
            page = http.get(url).text
        action = re.search(r'action="([^"]+)"', page).group(1)
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page))
        httpx.post(action.replace("//localhost:", "//127.0.0.1:"), data=fields, timeout=5)
    return open_url


def test_the_authorization_code_flow_uses_pkce_and_the_loopback(graph, tmp_path):
    path = tmp_path / "ms.json"
    result = sign_in(source_config(graph), path, client_id=graph.client_id, echo=lambda m: None,
                     open_browser=browser(graph), wait_seconds=10)
    assert result.can_write and TokenFile(path, source=source_config(graph)).can_write
    [asked] = [r for r in graph.requests if r.path.endswith("/authorize")]
    assert asked.query["code_challenge_method"] == ["S256"]
    assert asked.query["response_mode"] == ["form_post"]
    assert urllib.parse.urlsplit(asked.query["redirect_uri"][0]).hostname == "localhost"
    [grant] = [r for r in graph.requests if r.path.endswith("/token")]
    assert grant.body["grant_type"] == "authorization_code" and grant.body["code_verifier"]


def test_consent_without_write_falls_back_to_read_only(graph, tmp_path):
    graph.granted = frozenset({"Calendars.Read"})
    result = sign_in(source_config(graph), tmp_path / "ms.json", client_id=graph.client_id,
                     echo=lambda m: None, open_browser=browser(graph), wait_seconds=10)
    assert result.fell_back and not result.can_write


def test_a_declined_consent_is_a_clear_error(graph, tmp_path):
    import pytest

    from daemon.core.errors import CadencedError

    graph.refuse_consent = True
    with pytest.raises(CadencedError) as refused:
        sign_in(source_config(graph), tmp_path / "ms.json", client_id=graph.client_id,
                echo=lambda m: None, open_browser=browser(graph), wait_seconds=10)
    assert "access_denied" in str(refused.value) and not (tmp_path / "ms.json").exists()
