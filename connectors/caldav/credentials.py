"""A CalDAV source's password: from its ``password_command``, a systemd credential
or the keyring, the same three places and order as the SMTP password; never from
the config file, never logged."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path

from daemon.config import CaldavSource
from daemon.core.errors import SourceError

log = logging.getLogger(__name__)

PASSWORD_COMMAND_TIMEOUT = 30.0
KEYRING_TIMEOUT = 30.0
KEYRING_SERVICE = "cadenced-caldav"


def credential_name(source: str) -> str:
    """The file in ``$CREDENTIALS_DIRECTORY`` (systemd ``LoadCredential=``) that holds
    the password of the source named ``source``."""
    return f"caldav-{source}-password"


def resolve_password(config: CaldavSource, *, environ: Mapping[str, str] = os.environ) -> str:
    """The password of the CalDAV source ``config``. The first that is there:

    1. ``password_command`` (split like a shell would, run without a shell, for at
       most 30 s): the first line of its output. When configured it is the only way.
    2. ``$CREDENTIALS_DIRECTORY/caldav-<name>-password``: its first line.
    3. The keyring (optional package): service ``cadenced-caldav``, user ``username``.

    Raises :class:`SourceError` naming the source when none is there or one is
    unusable; the message never contains the command's output.
    """
    if config.password_command:
        return _from_command(config)
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if directory:
        found = _from_credential(config, Path(directory) / credential_name(config.name))
        if found is not None:
            return found
    found = _from_keyring(config)
    if found is None:
        raise SourceError(
            config.name, "no password: no password_command, no systemd credential "
            f"{credential_name(config.name)}, nothing in the keyring",
            hint=f"set password_command in the source {config.name!r} (e.g. \"pass show "
            "caldav\"), or store it: keyring set cadenced-caldav " + config.username)
    return found


def _first_line(text: str) -> str:
    lines = text.splitlines()
    return lines[0].strip() if lines else ""


def _from_command(config: CaldavSource) -> str:
    assert config.password_command is not None
    argv = shlex.split(config.password_command)  # the config validated that this works
    what = f"password_command ({argv[0]})"
    hint = "run the command by hand to see why (its output is not shown: it may be the password)"
    try:
        done = subprocess.run(  # noqa: S603 - the user's own command, without a shell
            argv, stdin=subprocess.DEVNULL, capture_output=True,
            timeout=PASSWORD_COMMAND_TIMEOUT, check=False)
    except FileNotFoundError:
        raise SourceError(config.name, f"{what}: no such program",
                          hint="install it, or give its full path in password_command") from None
    except subprocess.TimeoutExpired:
        raise SourceError(config.name, f"{what} did not finish within "
                          f"{PASSWORD_COMMAND_TIMEOUT:.0f} s",
                          hint="it may be waiting for a passphrase or an unlocked agent") from None
    except OSError as exc:
        raise SourceError(config.name, f"{what} could not be started: "
                          f"{exc.strerror or type(exc).__name__}",
                          hint="check password_command") from None
    if done.returncode != 0:
        status = (f"exited with status {done.returncode}" if done.returncode > 0
                  else f"was killed by signal {-done.returncode}")
        raise SourceError(config.name, f"{what} {status}", hint=hint)
    try:
        password = _first_line(done.stdout.decode("utf-8"))
    except UnicodeDecodeError:
        raise SourceError(config.name, f"{what} printed something that is not UTF-8 text",
                          hint=hint) from None
    if not password:
        raise SourceError(config.name, f"{what} printed nothing (exit status 0)", hint=hint)
    return password


def _from_credential(config: CaldavSource, path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise SourceError(config.name, f"cannot read the credential {path}: {reason}",
                          hint="check LoadCredential= in the service unit") from None
    password = _first_line(text)
    if not password:
        raise SourceError(config.name, f"the credential {path} is empty",
                          hint="check LoadCredential= in the service unit")
    return password


def _from_keyring(config: CaldavSource) -> str | None:
    try:
        import keyring  # optional: pip install "cadenced[keyring]"
        from keyring.errors import NoKeyringError
    except ImportError:
        log.debug("keyring is not installed: no CalDAV password from the keyring")
        return None

    outcome: list[tuple[str | None, BaseException | None]] = []

    def look_up() -> None:
        try:
            outcome.append((keyring.get_password(KEYRING_SERVICE, config.username), None))
        except NoKeyringError:
            outcome.append((None, None))
        except Exception as exc:  # noqa: BLE001 - backends raise anything (D-Bus, ...)
            outcome.append((None, exc))

    # A locked keyring may wait for a prompt nobody answers: never hang the service.
    worker = threading.Thread(target=look_up, name="cadenced-keyring", daemon=True)
    worker.start()
    worker.join(KEYRING_TIMEOUT)
    if not outcome:
        raise SourceError(config.name, f"the keyring did not answer within "
                          f"{KEYRING_TIMEOUT:.0f} s", hint="it may be locked")
    password, error = outcome[0]
    if error is not None:
        raise SourceError(config.name, f"the keyring could not be read: "
                          f"{type(error).__name__}", hint="it may be locked")
    return password or None
