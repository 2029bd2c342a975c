"""cadenced connectors: the outside world (calendars, mail, documents)."""
