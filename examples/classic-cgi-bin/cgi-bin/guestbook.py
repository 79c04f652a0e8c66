#!/usr/bin/env python3
"""A guestbook the way CGI scripts were written: read the form, append to a file, redirect."""
import html
import os
import sys
from urllib.parse import parse_qs

DATA = os.environ.get("GUESTBOOK_FILE") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "guestbook.txt")
me = os.environ["SCRIPT_NAME"]

if os.environ["REQUEST_METHOD"] == "POST":
    length = int(os.environ.get("CONTENT_LENGTH") or 0)
    form = parse_qs(sys.stdin.buffer.read(length).decode("utf-8", "replace"))
    name = form.get("name", [""])[0].strip()[:80]
    message = form.get("message", [""])[0].strip()[:500]
    if name and message:
        os.makedirs(os.path.dirname(DATA), exist_ok=True)
        with open(DATA, "a", encoding="utf-8") as f:
            f.write(name.replace("\t", " ").replace("\n", " ") + "\t" + message.replace("\n", " ") + "\n")
    # Post/Redirect/Get: a real 303, not a "200 with a Location header".
    sys.stdout.write("Status: 303 See Other\nLocation: %s\nContent-Type: text/plain\n\nSee %s\n" % (me, me))
    sys.exit(0)

entries = []
if os.path.exists(DATA):
    with open(DATA, encoding="utf-8") as f:
        entries = [line.rstrip("\n").split("\t", 1) for line in f if "\t" in line]

sys.stdout.write("Content-Type: text/html; charset=utf-8\n\n")
sys.stdout.write("<!doctype html><title>Guestbook</title><h1>Guestbook</h1><ul>")
for name, message in entries:
    sys.stdout.write("<li><b>%s</b>: %s</li>" % (html.escape(name), html.escape(message)))
sys.stdout.write("</ul>")
sys.stdout.write('<form method="post" action="%s">' % html.escape(me))
sys.stdout.write('<input name="name" placeholder="Name"> <input name="message" placeholder="Message"> ')
sys.stdout.write('<button>Sign</button></form>')
