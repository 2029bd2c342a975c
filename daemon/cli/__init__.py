"""The ``cadenced`` command line: the click commands (one module per group), the shared
options and the one place an error becomes a message, and the terminal output.

May import anything in ``daemon`` and ``connectors.registry``; nothing imports it.
"""
