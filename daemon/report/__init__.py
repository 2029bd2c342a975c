"""The weekly cadence-health report: content, rendering, sending."""
