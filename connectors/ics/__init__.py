"""ICS feeds: fetching and parsing into the core model."""
