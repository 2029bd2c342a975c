"""The configuration: TOML validated once, at the edge, into typed objects.

:func:`load_config` reads the file and returns a :class:`Config` plus warnings
(unknown keys). Every problem is reported at once, each with its key, as one
:class:`~daemon.core.errors.ConfigError`. Nothing deeper in cadenced reads the file or
the environment: the CLI loads the config and passes it in.
"""

from daemon.config.load import LoadedConfig, load_config, parse_config
from daemon.config.sections import (
    GOOGLE_API_ROOT,
    GRAPH_API_ROOT,
    MICROSOFT_AUTHORITY,
    Agenda,
    Cadence,
    CaldavSource,
    Config,
    GoogleSource,
    IcsSource,
    MicrosoftSource,
    Nudge,
    Owner,
    Person,
    Server,
    Smtp,
    Suggest,
    Sync,
    WeeklyReport,
    is_loopback_host,
    system_timezone_name,
)

__all__ = [
    "GOOGLE_API_ROOT",
    "GRAPH_API_ROOT",
    "MICROSOFT_AUTHORITY",
    "Agenda",
    "Cadence",
    "CaldavSource",
    "Config",
    "GoogleSource",
    "IcsSource",
    "LoadedConfig",
    "MicrosoftSource",
    "Nudge",
    "Owner",
    "Person",
    "Server",
    "Smtp",
    "Suggest",
    "Sync",
    "WeeklyReport",
    "is_loopback_host",
    "load_config",
    "parse_config",
    "system_timezone_name",
]
