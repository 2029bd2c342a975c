"""Google Calendar, Drive and Docs."""
