"""Turning core objects into what people read: the report's HTML and plain text and its
email message, the agenda pages. Pure string work (Jinja2 with autoescape).

May import: ``daemon.core`` and ``daemon.config``. Nothing else of cadenced.
"""
