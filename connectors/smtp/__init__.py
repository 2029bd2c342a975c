"""Send one email through the user's own SMTP server: the
:class:`~connectors.base.Mailer` contract, filled by
:class:`~connectors.smtp.client.SmtpMailer`.

- :mod:`.credentials`: where the password comes from (a command, a systemd
  credential, the keyring), never the config file;
- :mod:`.client`: the connection, TLS, the envelope and the message;
- :mod:`.failures`: every ``smtplib``/``ssl``/``OSError`` failure turned into one
  :class:`~connectors.base.MailError` with a fix.

The contract is small: :func:`.client.send` either returns the server's final reply or
raises a :class:`MailError` naming ``host:port``, what went wrong and what to do;
no ``smtplib``, ``ssl`` or ``OSError`` exception escapes it. ``MailError.transient``
tells the caller whether a later cycle may succeed (network trouble, timeouts, 4xx
replies) or whether the user must act first (authentication, 5xx rejections, an
untrusted certificate, configuration).

Security, whatever ``smtplib``'s defaults:

* TLS always verifies the server (``ssl.create_default_context()``, plus
  ``smtp.ca_file`` when set); STARTTLS that the server does not offer is an error,
  never a fall back to plain text. Plain SMTP is for loopback only.
* The password is never in the configuration, a message or a log line:
  :func:`.credentials.resolve_password` reads it from a command, a systemd credential or the
  keyring, and every server reply shown is redacted.
* A header value holding CR or LF is refused before connecting (header injection).
"""
