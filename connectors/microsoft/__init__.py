"""Microsoft 365 / Outlook through Microsoft Graph: the sign-in (MSAL), the calendar
(calendarView/delta), the mapping into the core's model, and the write-back."""
