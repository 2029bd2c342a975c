"""The systemd user unit and `cadenced service install|uninstall`.

No systemd runs here: `systemctl` is a fake script first on PATH that records its
arguments. The unit itself is checked with the real `systemd-analyze` (offline: verify,
and the security exposure score) when it is installed (Debian: `apt-get install systemd`).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.cli import systemd as service_module
from daemon.cli.systemd import UNIT_NAME, exec_argv, render, service, systemd_quote

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "systemd" / UNIT_NAME
PACKAGED = ROOT / "daemon" / "systemd" / UNIT_NAME
MAX_EXPOSURE = 4.0  # systemd-analyze's "OK" band ends here

FAKE_SYSTEMCTL = """#!/bin/sh
printf '%s\\n' "$*" >> "$SYSTEMCTL_LOG"
if [ -n "$SYSTEMCTL_FAIL" ]; then
    echo "Failed to connect to bus: No medium found" >&2
    exit 1
fi
exit 0
"""


def runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click 8.1
    except TypeError:
        return CliRunner()  # click >= 8.2 keeps stderr apart by default


def invoke(*args: str, config_path: str | None = None):
    return runner().invoke(service, list(args), obj={"config_path": config_path})


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private $HOME and $XDG_CONFIG_HOME, and a fake systemctl first on PATH."""
    home = tmp_path / "home"
    config_home = home / "config"
    config_home.mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "systemctl"
    fake.write_text(FAKE_SYSTEMCTL)
    fake.chmod(0o755)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}")
    monkeypatch.setenv("SYSTEMCTL_LOG", str(tmp_path / "systemctl.log"))
    monkeypatch.delenv("SYSTEMCTL_FAIL", raising=False)
    return home


def systemctl_calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "systemctl.log"
    return log.read_text().splitlines() if log.exists() else []


def unit_file(home: Path) -> Path:
    return home / "config" / "systemd" / "user" / UNIT_NAME


def this_cadenced() -> str:
    script = Path(os.path.abspath(sys.executable)).parent / "cadenced"
    assert script.is_file(), "the tests run from an installed cadenced (pip install -e .)"
    return str(script)


def exec_start(unit: str) -> str:
    [line] = [ln for ln in unit.splitlines() if ln.startswith("ExecStart=")]
    return line


# -- the unit file ----------------------------------------------------------------------


def test_packaged_template_is_the_documented_one():
    assert PACKAGED.read_bytes() == TEMPLATE.read_bytes()


def test_template_essentials():
    text = TEMPLATE.read_text()
    settings = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    for required in ("Type=notify", "NotifyAccess=main", "ExecStart=@EXEC_START@",
                     "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
                     "StateDirectory=cadenced", "StateDirectoryMode=0700",
                     "RuntimeDirectory=cadenced", "ConfigurationDirectory=cadenced",
                     "PrivateUsers=yes", "ProtectSystem=strict", "ProtectHome=read-only",
                     "MemoryDenyWriteExecute=yes", "CapabilityBoundingSet=", "UMask=0077",
                     "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                     "WantedBy=default.target"):
        assert required in settings, required
    assert any(s.startswith("WatchdogSec=") for s in settings)
    assert any(s.startswith("StartLimitIntervalSec=") for s in settings)
    # The user namespace comes before what needs it.
    assert settings.index("PrivateUsers=yes") < settings.index("ProtectSystem=strict")
    # Secrets travel as credentials, never in the environment.
    assert not any(s.startswith("Environment") for s in settings)
    assert "#LoadCredential=smtp-password:%h/.config/cadenced/smtp-password" in text


@pytest.mark.parametrize(("arg", "word"), [
    ("/home/ana/.local/bin/cadenced", "/home/ana/.local/bin/cadenced"),
    ("run", "run"),
    ("/home/ana/My Files/config.toml", '"/home/ana/My Files/config.toml"'),
    ("/opt/100%/cadenced", "/opt/100%%/cadenced"),
    ("/opt/$HOME/x", "/opt/$$HOME/x"),
    ('/a"b\\c', '"/a\\"b\\\\c"'),
    ("", '""'),
])
def test_systemd_quote(arg: str, word: str):
    assert systemd_quote(arg) == word


def test_exec_argv_without_console_script_uses_python_m_daemon(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch):
    python = tmp_path / "bin" / "python3"
    monkeypatch.setattr(sys, "executable", str(python))
    assert exec_argv(None) == [str(python), "-m", "daemon", "run"]


def test_python_m_daemon_is_the_cadenced_command():
    done = subprocess.run([sys.executable, "-m", "daemon", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Usage: cadenced" in done.stdout


# -- service install / uninstall --------------------------------------------------------


def test_install_print_shows_the_unit_and_changes_nothing(home: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("install", "--print", config_path="conf/my config.toml")
    assert result.exit_code == 0, result.output
    config = tmp_path / "conf" / "my config.toml"
    assert exec_start(result.stdout) == (
        f'ExecStart={this_cadenced()} --config "{config}" run')
    assert "systemctl --user daemon-reload" in result.stdout
    assert "systemctl --user enable --now cadenced.service" in result.stdout
    assert "loginctl enable-linger" in result.stdout
    assert not (home / "config" / "systemd").exists()
    assert systemctl_calls(tmp_path) == []


def test_install_print_without_config_runs_plain_run(home: Path):
    result = invoke("install", "--print")
    assert result.exit_code == 0, result.output
    assert exec_start(result.stdout) == f"ExecStart={this_cadenced()} run"


def test_install_writes_the_unit_and_enables_it(home: Path, tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text("")
    result = invoke("install", config_path=str(config))
    assert result.exit_code == 0, result.output

    path = unit_file(home)
    assert stat.S_IMODE(path.stat().st_mode) & ~0o644 == 0
    text = path.read_text()
    assert text == render([this_cadenced(), "--config", str(config), "run"])
    assert exec_start(text) == f"ExecStart={this_cadenced()} --config {config} run"
    assert not list(path.parent.glob(".*.tmp"))  # no temporary file left behind
    assert systemctl_calls(tmp_path) == ["--user daemon-reload",
                                         "--user enable --now cadenced.service"]
    assert "loginctl enable-linger $USER" in result.stdout


def test_reinstall_with_a_changed_unit_restarts_a_running_service(home: Path, tmp_path: Path):
    assert invoke("install").exit_code == 0
    (tmp_path / "systemctl.log").unlink()
    result = invoke("install", config_path=str(tmp_path / "other.toml"))
    assert result.exit_code == 0, result.output
    assert "--config" in exec_start(unit_file(home).read_text())
    assert systemctl_calls(tmp_path) == ["--user daemon-reload",
                                         "--user try-restart cadenced.service",
                                         "--user enable --now cadenced.service"]


def test_install_without_systemctl_says_what_to_run(home: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = invoke("install")
    assert result.exit_code != 0
    assert "systemctl was not found" in result.stderr
    assert "systemctl --user daemon-reload" in result.stderr
    assert "systemctl --user enable --now cadenced.service" in result.stderr
    assert unit_file(home).is_file()  # written: only the systemctl part is left to do


def test_install_when_systemctl_fails_says_what_to_run(home: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SYSTEMCTL_FAIL", "1")
    result = invoke("install")
    assert result.exit_code != 0
    assert "No medium found" in result.stderr
    assert "systemctl --user enable --now cadenced.service" in result.stderr
    assert systemctl_calls(tmp_path) == ["--user daemon-reload"]  # stopped at the failure


def test_uninstall_disables_and_removes(home: Path, tmp_path: Path):
    assert invoke("install").exit_code == 0
    (tmp_path / "systemctl.log").unlink()
    result = invoke("uninstall")
    assert result.exit_code == 0, result.output
    assert not unit_file(home).exists()
    assert systemctl_calls(tmp_path) == ["--user disable --now cadenced.service",
                                         "--user daemon-reload"]


def test_uninstall_when_not_installed(home: Path, tmp_path: Path):
    result = invoke("uninstall")
    assert result.exit_code == 0, result.output
    assert "not installed" in result.stdout
    assert systemctl_calls(tmp_path) == []


def test_uninstall_print_changes_nothing(home: Path, tmp_path: Path):
    assert invoke("install").exit_code == 0
    (tmp_path / "systemctl.log").unlink()
    result = invoke("uninstall", "--print")
    assert result.exit_code == 0, result.output
    assert "systemctl --user disable --now cadenced.service" in result.stdout
    assert unit_file(home).is_file()
    assert systemctl_calls(tmp_path) == []


def test_uninstall_without_systemctl_keeps_the_unit(home: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch):
    assert invoke("install").exit_code == 0
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    result = invoke("uninstall")
    assert result.exit_code != 0
    assert "systemctl --user disable --now cadenced.service" in result.stderr
    assert unit_file(home).is_file()


def test_run_systemctl_is_the_only_way_out(home: Path, monkeypatch: pytest.MonkeyPatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(service_module, "run_systemctl", calls.append)
    assert invoke("install").exit_code == 0
    assert calls == [["--user", "daemon-reload"],
                     ["--user", "enable", "--now", "cadenced.service"]]


# -- systemd-analyze on a rendered unit -------------------------------------------------


@pytest.fixture
def analyze(tmp_path: Path):
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    runtime = tmp_path / "runtime"  # the --user manager wants $XDG_RUNTIME_DIR
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_COLORS": "0",
           "SYSTEMD_PAGER": "cat"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, "--user", *args], capture_output=True, text=True,
                              env=env, timeout=120)
    return run


def rendered(home: Path, directory: Path, *, config_path: str | None = None) -> Path:
    """The unit exactly as `cadenced service install --print` shows it."""
    result = invoke("install", "--print", config_path=config_path)
    assert result.exit_code == 0, result.output
    path = directory / UNIT_NAME
    path.write_text(result.stdout)
    return path


def test_systemd_analyze_verify_accepts_the_unit(home: Path, tmp_path: Path, analyze):
    unit = rendered(home, tmp_path)
    done = analyze("verify", str(unit))
    assert done.returncode == 0, done.stdout + done.stderr
    assert UNIT_NAME not in done.stdout + done.stderr, done.stdout + done.stderr


def test_systemd_analyze_verify_reads_quoted_paths_back(home: Path, tmp_path: Path,
                                                        analyze, monkeypatch):
    """A path with a space and a % still names the executable once systemd unquotes it."""
    odd = tmp_path / "my tools 100%"
    odd.mkdir()
    script = odd / "cadenced"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(odd / "python3"))
    unit = rendered(home, tmp_path, config_path=str(tmp_path / "a b" / "c.toml"))
    quoted = '"' + str(script).replace("%", "%%") + '"'
    assert exec_start(unit.read_text()).startswith(f"ExecStart={quoted} --config ")
    done = analyze("verify", str(unit))
    assert done.returncode == 0, done.stdout + done.stderr
    assert UNIT_NAME not in done.stdout + done.stderr, done.stdout + done.stderr


def test_systemd_analyze_security_exposure_is_ok(home: Path, tmp_path: Path, analyze):
    unit = rendered(home, tmp_path)
    done = analyze("security", "--offline=yes", str(unit))
    if done.returncode != 0 and "offline" in done.stderr:
        pytest.skip(f"this systemd-analyze has no --offline: {done.stderr.strip()}")
    output = done.stdout + done.stderr
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", output)
    assert match, output
    exposure = float(match.group(1))
    assert exposure <= MAX_EXPOSURE, output
