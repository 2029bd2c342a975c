"""The SMTP password: from ``smtp.password_command``, a systemd credential or the
keyring, never from the config file, never logged."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path

from connectors.base import MailError
from connectors.smtp.failures import _RETRY, _clean
from daemon.config import Smtp

log = logging.getLogger(__name__)

PASSWORD_COMMAND_TIMEOUT = 30.0
KEYRING_TIMEOUT = 30.0
KEYRING_SERVICE = "cadenced"
CREDENTIAL_NAME = "smtp-password"  # in $CREDENTIALS_DIRECTORY (systemd LoadCredential=)


# --- the password ----------------------------------------------------------------


def resolve_password(smtp: Smtp, *, environ: Mapping[str, str] = os.environ) -> str | None:
    """The SMTP password, or None when there is none to use.

    None when no ``smtp.username`` is configured (no AUTH). Otherwise, the first
    source that is there, in this order:

    1. ``smtp.password_command`` (split like a shell would, run without a shell, for
       at most 30 s): the first line of its output. When it is configured, it is the
       only source: failing is an error, not a reason to look elsewhere.
    2. ``$CREDENTIALS_DIRECTORY/smtp-password`` (systemd ``LoadCredential=``): its
       first line.
    3. The keyring (``pip install keyring``): service ``cadenced``, user
       ``smtp.username``. Not installed, no backend or nothing stored: None.

    Surrounding white space is stripped. Raises :class:`MailError` when a source is
    there but unusable; its message never contains the command's output.
    """
    if not smtp.username:
        return None
    if smtp.password_command:
        return _from_command(smtp.password_command)
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if directory:
        found = _from_credential(Path(directory) / CREDENTIAL_NAME)
        if found is not None:
            return found
    return _from_keyring(smtp.username)


def _first_line(text: str) -> str:
    lines = text.splitlines()
    return lines[0].strip() if lines else ""


def _from_command(command: str) -> str:
    argv = shlex.split(command)  # the config validated that this works
    program = argv[0]
    what = f"smtp.password_command ({program})"
    hint = "run the command by hand to see why (its output is not shown: it may be the password)"
    try:
        done = subprocess.run(  # noqa: S603 - the user's own command, without a shell
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=PASSWORD_COMMAND_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise MailError(
            f"{what}: no such program", transient=False,
            hint="install it, or give its full path in smtp.password_command",
        ) from None
    except subprocess.TimeoutExpired:
        raise MailError(
            f"{what} did not finish within {PASSWORD_COMMAND_TIMEOUT:.0f} s", transient=True,
            hint="it may be waiting for a passphrase or an unlocked agent; " + _RETRY,
        ) from None
    except OSError as exc:
        raise MailError(
            f"{what} could not be started: {exc.strerror or type(exc).__name__}",
            transient=False, hint="check smtp.password_command",
        ) from None
    if done.returncode != 0:
        status = (
            f"exited with status {done.returncode}"
            if done.returncode > 0
            else f"was killed by signal {-done.returncode}"
        )
        raise MailError(f"{what} {status}", transient=False, hint=hint)
    try:
        password = _first_line(done.stdout.decode("utf-8"))
    except UnicodeDecodeError:
        raise MailError(f"{what} printed something that is not UTF-8 text", transient=False,
                        hint=hint) from None
    if not password:
        raise MailError(f"{what} printed nothing (exit status 0)", transient=False, hint=hint)
    return password


def _from_credential(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise MailError(f"cannot read the credential {path}: {reason}", transient=False,
                        hint="check LoadCredential= in the service unit") from None
    password = _first_line(text)
    if not password:
        raise MailError(f"the credential {path} is empty", transient=False,
                        hint="check LoadCredential= in the service unit")
    return password


def _from_keyring(username: str) -> str | None:
    try:
        import keyring  # optional: pip install "cadenced[keyring]"
        from keyring.errors import NoKeyringError
    except ImportError:
        log.debug("keyring is not installed: no SMTP password from the keyring")
        return None

    outcome: list[tuple[str | None, BaseException | None]] = []

    def look_up() -> None:
        try:
            outcome.append((keyring.get_password(KEYRING_SERVICE, username), None))
        except NoKeyringError:
            outcome.append((None, None))
        except Exception as exc:  # noqa: BLE001 - backends raise anything (D-Bus, ...)
            outcome.append((None, exc))

    # A locked keyring may wait for a prompt nobody answers: never hang the service.
    worker = threading.Thread(target=look_up, name="cadenced-keyring", daemon=True)
    worker.start()
    worker.join(KEYRING_TIMEOUT)
    if not outcome:
        raise MailError(
            f"the keyring did not answer within {KEYRING_TIMEOUT:.0f} s", transient=True,
            hint="it may be locked; " + _RETRY,
        )
    password, error = outcome[0]
    if error is not None:
        raise MailError(
            f"the keyring could not be read: {type(error).__name__}: "
            f"{_clean(str(error))}",
            transient=True, hint="it may be locked; " + _RETRY,
        )
    return password or None


