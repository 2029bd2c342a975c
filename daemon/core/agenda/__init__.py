"""The living agenda document, pure: its model, parsing and editing the Markdown text,
carrying open action items, the prompts."""
