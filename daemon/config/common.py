"""What every section shares: the base model, address and host checks, the system zone."""

from __future__ import annotations

import ipaddress
import re

from pydantic import (
    BaseModel,
    ConfigDict,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def _email(value: str) -> str:
    value = value.strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value.lower()


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine: localhost, 127.0.0.0/8 or ::1."""
    host = host.strip().lower().strip("[]")
    if host in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def system_timezone_name() -> str:
    """The host's IANA zone name, or "UTC" when it cannot be told."""
    try:
        import tzlocal

        name = tzlocal.get_localzone_name()
    except Exception:  # noqa: BLE001 - tzlocal raises several kinds; any means "unknown"
        return "UTC"
    return name or "UTC"


class _Section(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)
