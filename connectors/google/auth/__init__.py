"""Google sign-in: :mod:`.scopes`, the token file (:mod:`.token`), the loopback flow
(:mod:`.signin`), refresh, and :mod:`.revoke`.

The contract:

- :func:`sign_in` runs Google's installed-app flow (google-auth-oauthlib's
  ``InstalledAppFlow``) with a loopback redirect to ``http://127.0.0.1:PORT/`` (bound
  on 127.0.0.1 only, a random free port) and PKCE (S256). It asks for
  :data:`WRITE_SCOPES`, or :data:`READ_SCOPES` with ``read_only``. Google lets the
  user untick scopes: with a calendar scope but not both write scopes the sign-in
  is kept read-only (and says so); without any calendar scope it is refused and
  nothing is written. Never interactive anywhere else: the daemon only reads the
  token file.
- The token file is the authorized-user JSON google-auth reads
  (``Credentials.to_json()``), whose ``scopes`` are the scopes Google *granted*.
  It is 0600, written atomically; a directory cadenced creates for it is 0700.
  Default place: :func:`token_path`.
- :class:`TokenFile` hands out credentials to the calendar source and the Docs
  store: loaded (with the file's own ``token_uri`` and ``expiry``: google-auth's
  loader forgets both), refreshed when expired or about to, and saved whenever
  they are refreshed, including a refresh google_auth_httplib2 makes in the middle
  of an API call (the credentials persist themselves). A refused refresh
  (``invalid_grant``: revoked, or the 7-day refresh token of an app in Google's testing mode) raises
  :class:`~daemon.core.errors.NeedsSignIn`, and the token endpoint is not called again
  until the token file changes on disk.
- :func:`revoke` revokes the grant at Google, then deletes the token file in
  any case.

Tokens and client secrets are never logged or put in an error message.
"""
