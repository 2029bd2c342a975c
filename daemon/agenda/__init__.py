"""Living agenda documents, one per 1:1 relationship."""
