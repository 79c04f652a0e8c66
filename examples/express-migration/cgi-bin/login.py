#!/usr/bin/env python3
"""The legacy login: checks a password, sets the session cookie, redirects to a modern page."""
import html
import os
import sys
from urllib.parse import parse_qs

status = None
error = ""
user = ""
if os.environ["REQUEST_METHOD"] == "POST":
    length = int(os.environ.get("CONTENT_LENGTH") or 0)
    form = parse_qs(sys.stdin.buffer.read(length).decode("utf-8", "replace"))
    user = form.get("user", [""])[0].strip()
    password = form.get("password", [""])[0]
    # Demo only: every account's password is "legacy".
    if user and password == "legacy" and all(c.isalnum() or c in " ._-" for c in user):
        print("Status: 303 See Other")
        print("Set-Cookie: legacy_user=%s; Path=/; HttpOnly; SameSite=Lax" % user.replace(" ", "%20"))
        print("Location: /welcome")
        print()
        sys.exit(0)
    # A failed login is a 401, with the form again (RFC 9110 asks for a challenge: a form login's own scheme).
    status = "401 Unauthorized"
    error = '<p id="error" class="error">Wrong name or password.</p>'

if status:
    print("Status: %s" % status)
    print('WWW-Authenticate: Form realm="Acme intranet"')
print("Content-Type: text/html; charset=utf-8")
print()
print('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title>')
print('<link rel="stylesheet" href="/style.css"><link rel="icon" href="/favicon.svg" type="image/svg+xml"></head><body>')
print('<header><a href="/">Acme intranet</a> <span class="badge legacy">legacy CGI</span></header><main>')
print("<h1>Sign in</h1>%s" % error)
print('<form method="post" action="%s">' % html.escape(os.environ["SCRIPT_NAME"]))
print('<label>Name <input name="user" id="user" value="%s"></label> ' % html.escape(user))
print('<label>Password <input name="password" id="password" type="password"></label> ')
print('<button id="submit" type="submit">Sign in</button></form>')
print('<p>(Any name; the password is <code>legacy</code>.)</p>')
print('<p><a id="home" href="/">Back to the home page</a></p></main></body></html>')
