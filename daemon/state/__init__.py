"""What cadenced keeps on this machine: the XDG paths, the state store (history,
sources' last good copies, sent markers), atomic private files, the local agenda store.

May import: ``daemon.core``, ``daemon.config``, ``connectors.base`` (the contracts it
fills). Not the service, the renderers, the CLI, or any connector's own module.
"""
