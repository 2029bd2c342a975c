"""The configuration: TOML validated once, at the edge, into typed objects.

:func:`load_config` reads the file and returns a :class:`Config` plus warnings
(unknown keys). Every problem is reported at once, each with its key, as one
:class:`~daemon.core.errors.ConfigError`. Nothing deeper in cadenced reads the file or
the environment: the CLI loads the config and passes it in.
"""

from daemon.config.common import is_loopback_host, system_timezone_name
from daemon.config.load import LoadedConfig, load_config, parse_config
from daemon.config.sections import (
    Agenda,
    Cadence,
    Config,
    Nudge,
    Owner,
    Person,
    Server,
    Smtp,
    Suggest,
    Sync,
    WeeklyReport,
)
from daemon.config.sources import (
    GOOGLE_API_ROOT,
    GRAPH_API_ROOT,
    MICROSOFT_AUTHORITY,
    CaldavSource,
    GoogleSource,
    IcsSource,
    MicrosoftSource,
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
