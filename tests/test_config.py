"""The configuration: validated once, every problem with its key, unknown keys warned."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from daemon.config import load_config, parse_config
from daemon.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_example_config_loads_and_documents_every_key():
    loaded = load_config(ROOT / "config.example.toml")
    assert loaded.warnings == ()
    config = loaded.config
    assert config.owner.email == "you@example.com"
    assert config.people[0].cadence_days == 7
    assert config.people[0].alias_emails == ("ada.l@old-domain.example",)
    assert config.people[0].alias_names == ("Countess",)
    assert {s.type for s in config.sources} >= {"ics", "google", "caldav", "microsoft"}
    # Every field of every section appears in the example, so it can't rot.
    text = (ROOT / "config.example.toml").read_text()
    data = tomllib.loads(text)
    sections = {
        "owner": (data["owner"], config.owner),
        **{f"{model.type} source {i}": (data["sources"][i], model)
           for i, model in enumerate(config.sources)},
        "people": (data["people"][0], config.people[0]),
        "cadence": (data["cadence"], config.cadence),
        "sync": (data["sync"], config.sync),
        "report": (data["report"], config.report),
        "smtp": (data["smtp"], config.smtp),
        "agenda": (data["agenda"], config.agenda),
        "server": (data["server"], config.server),
        "suggest": (data["suggest"], config.suggest),
        "nudge": (data["nudge"], config.nudge),
    }
    for name, (section, model) in sections.items():
        keys = {field.alias or key for key, field in type(model).model_fields.items()}
        documented = set(section) | {k for k in keys if f"# {k} =" in text}
        assert keys <= documented, (name, keys - documented)


def test_defaults_when_only_the_owner_is_given():
    config = parse_config({"owner": {"email": "Me@Example.com", "timezone": "UTC"}}).config
    assert config.owner.email == "me@example.com"
    assert (config.cadence.lookback_days, config.cadence.lookahead_days,
            config.cadence.shortened_minutes, config.cadence.missed_factor) == (90, 14, 5, 1.5)
    assert config.sources == () and config.people == ()


def test_every_problem_is_reported_at_once_with_its_key():
    with pytest.raises(ConfigError) as info:
        parse_config({
            "owner": {"email": "not-an-address", "timezone": "Mars/Olympus"},
            "sources": [{"name": "work", "type": "ics", "url": "ftp://x"}],
            "people": [{"email": "ada@example.com", "cadence_days": -1}],
            "cadence": {"missed_factor": 0.5},
        })
    keys = [key for key, _ in info.value.problems]
    assert keys == ["owner.email", "owner.timezone", "sources[0].url", "people[0].name",
                    "people[0].cadence_days", "cadence.missed_factor"]
    messages = dict(info.value.problems)
    assert "IANA" in messages["owner.timezone"]
    assert messages["people[0].name"] == "required key is missing"
    assert info.value.exit_code == 2


def test_missing_owner_email_is_named():
    with pytest.raises(ConfigError) as info:
        parse_config({"owner": {"name": "x"}})
    assert info.value.problems == [("owner.email", "required key is missing")]


def test_unknown_source_type_is_named():
    with pytest.raises(ConfigError) as info:
        parse_config({"owner": {"email": "a@b.c"},
                      "sources": [{"name": "g", "type": "exchange", "url": "x"}]})
    assert [k for k, _ in info.value.problems] == ["sources[0].type"]


def test_unknown_keys_are_warned_with_their_path():
    loaded = parse_config({"owner": {"email": "a@b.c", "emial": "typo"},
                           "sources": [{"name": "w", "url": "x.ics", "refresh": 5}],
                           "colour": "blue"})
    assert loaded.warnings == ("unknown key 'colour' is ignored",
                               "unknown key 'owner.emial' is ignored",
                               "unknown key 'sources[0].refresh' is ignored")


def test_duplicate_source_names_and_shared_addresses_are_refused():
    with pytest.raises(ConfigError, match="problem"):
        parse_config({"owner": {"email": "a@b.c"},
                      "sources": [{"name": "w", "url": "x"}, {"name": "w", "url": "y"}]})
    with pytest.raises(ConfigError) as info:
        parse_config({"owner": {"email": "a@b.c"},
                      "people": [{"name": "P", "email": "a@b.c"}]})
    assert "owner's address" in info.value.problems[0][1]


def test_relative_source_path_resolves_against_the_config_file(tmp_path):
    (tmp_path / "cfg").mkdir()
    path = tmp_path / "cfg" / "config.toml"
    path.write_text('[owner]\nemail = "a@b.c"\n[[sources]]\nname = "f"\nurl = "cal/feed.ics"\n')
    assert load_config(path).config.sources[0].url == str(tmp_path / "cfg" / "cal" / "feed.ics")


def test_missing_file_says_how_to_start(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert "no configuration file" in info.value.message
    assert "config.example.toml" in info.value.hint


def test_invalid_toml_names_the_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[owner\nemail = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in info.value.message and "not valid TOML" in info.value.message


def test_google_source_defaults_and_plain_http_only_to_loopback():
    config = parse_config({"owner": {"email": "a@b.c"},
                           "sources": [{"name": "g", "type": "google",
                                        "api_root": "http://127.0.0.1:8080"}]}).config
    source = config.sources[0]
    assert (source.calendar_id, source.send_updates, source.write_back) == ("primary", "none", None)
    assert source.api_root == "http://127.0.0.1:8080/"
    with pytest.raises(ConfigError) as info:
        parse_config({"owner": {"email": "a@b.c"},
                      "sources": [{"name": "g", "type": "google",
                                   "api_root": "http://proxy.example.com/"}]})
    assert info.value.problems[0][0] == "sources[0].api_root"
    assert "unencrypted" in info.value.problems[0][1]


def test_google_agenda_store_needs_a_google_source():
    with pytest.raises(ConfigError) as info:
        parse_config({"owner": {"email": "a@b.c"}, "agenda": {"store": "google"},
                      "sources": [{"name": "w", "url": "x.ics"}]})
    assert 'needs a source with type = "google"' in info.value.problems[0][1]
    with pytest.raises(ConfigError) as info:
        parse_config({"owner": {"email": "a@b.c"},
                      "agenda": {"store": "google", "google_source": "w"},
                      "sources": [{"name": "w", "url": "x.ics"},
                                  {"name": "g", "type": "google"}]})
    assert "'w' is not the name of a source" in info.value.problems[0][1]


def test_google_token_file_resolves_against_the_config_folder(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[owner]\nemail = "a@b.c"\n[[sources]]\nname = "g"\ntype = "google"\n'
                    'token_file = "tokens/g.json"\n')
    assert load_config(path).config.sources[0].token_file == str(tmp_path / "tokens" / "g.json")


def test_the_documented_default_token_path_is_the_real_one(tmp_path):
    from connectors.google.auth.token import token_path

    loaded = load_config(ROOT / "config.example.toml").config
    google = next(s for s in loaded.sources if s.type == "google")
    real = token_path(google.model_copy(update={"token_file": None}), tmp_path)
    relative = real.relative_to(tmp_path).as_posix()
    assert f"cadenced/{relative}" in (ROOT / "config.example.toml").read_text()
    assert real.name in (ROOT / "docs" / "google.md").read_text()
