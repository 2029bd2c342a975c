"""cadenced core: model, 1:1 detection, cadence rules, CLI."""
