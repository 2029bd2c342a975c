"""The weekly report's content, pure: what it says, computed from an analysis."""
