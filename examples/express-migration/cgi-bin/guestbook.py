#!/usr/bin/env python3
"""A 2003-style guestbook: the cgi module, a flat file, Post/Redirect/Get."""
import html
import os
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
try:
    import cgi  # the classic way (removed in Python 3.13)
except ImportError:  # pragma: no cover - newer Pythons
    cgi = None
from urllib.parse import parse_qs

DATA = os.path.join(os.environ.get("GUESTBOOK_DIR", "/tmp"), "guestbook.txt")
ME = os.environ["SCRIPT_NAME"]


def read_form():
    if cgi is not None:
        form = cgi.FieldStorage()
        return form.getfirst("name", ""), form.getfirst("message", "")
    length = int(os.environ.get("CONTENT_LENGTH") or 0)
    fields = parse_qs(sys.stdin.buffer.read(length).decode("utf-8", "replace"))
    return fields.get("name", [""])[0], fields.get("message", [""])[0]


if os.environ["REQUEST_METHOD"] == "POST":
    name, message = (v.strip().replace("\t", " ").replace("\n", " ") for v in read_form())
    if name and message:
        os.makedirs(os.path.dirname(DATA), exist_ok=True)
        with open(DATA, "a", encoding="utf-8") as f:
            f.write("%s\t%s\n" % (name[:80], message[:500]))
    print("Status: 303 See Other")
    print("Location: %s" % ME)
    print()
    sys.exit(0)

entries = []
if os.path.exists(DATA):
    with open(DATA, encoding="utf-8") as f:
        entries = [line.rstrip("\n").split("\t", 1) for line in f if "\t" in line]

print("Content-Type: text/html; charset=utf-8")
print()
print('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Guestbook</title>')
print('<link rel="stylesheet" href="/style.css"><link rel="icon" href="/favicon.svg" type="image/svg+xml"></head><body>')
print('<header><a href="/">Acme intranet</a> <span class="badge legacy">legacy CGI</span></header><main>')
print("<h1>Guestbook</h1><ul id=\"entries\">")
for name, message in entries:
    print("<li><b>%s</b>: %s</li>" % (html.escape(name), html.escape(message)))
print("</ul>")
print('<form method="post" action="%s">' % html.escape(ME))
print('<label>Name <input name="name" id="name"></label> ')
print('<label>Message <input name="message" id="message"></label> ')
print('<button id="sign" type="submit">Sign</button></form>')
print('<p><a id="home" href="/">Back to the home page</a></p></main></body></html>')
