"""The pure core: what a 1:1 is, how it recurs, the cadence rules, what needs attention,
the agenda document's logic and the report's content.

No I/O, no clock, no network: every function takes the events, the config and ``now``.
May import: the standard library, ``dateutil``/``recurring_ical_events`` for recurrence,
``daemon.config`` (the typed sections it is given). Nothing above it (state, service,
render, cli) and nothing in ``connectors``.
"""
