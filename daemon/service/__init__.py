"""The work one sync does and the service that repeats it: scan, sync, the agenda and
invite steps, the report step, the local server, logging, systemd notification, the
scheduler loop.

May import: ``daemon.core``, ``daemon.config``, ``daemon.state``, ``daemon.render``,
``connectors.base`` (the contracts) and ``connectors.registry`` (config -> connectors;
the service rebuilds them when the config is reloaded). Never the CLI, never a
connector's own module.
"""
