#!/usr/bin/env python3
"""A routed app from the CGI era: one script, routing on PATH_INFO, serving its own static files."""
import html
import json
import mimetypes
import os
import sys

BASE = os.environ["SCRIPT_NAME"]  # where the host mounted us, e.g. /pycgi
PATH = os.environ.get("PATH_INFO", "") or "/"
HERE = os.path.dirname(os.path.abspath(__file__))
ITEMS = {"1": "Left-handed widget", "2": "Sprocket, large", "3": "Flux capacitor"}


def respond(status, content_type, body):
    out = sys.stdout.buffer
    out.write(("Status: %s\r\nContent-Type: %s\r\n\r\n" % (status, content_type)).encode())
    out.write(body if isinstance(body, bytes) else body.encode("utf-8"))


def page(title, body):
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>%s</title>'
            '<link rel="stylesheet" href="%s/static/app.css"></head><body>%s</body></html>'
            % (html.escape(title), BASE, body))


if PATH == "/":
    links = "".join('<li><a href="%s/items/%s">%s</a></li>' % (BASE, k, html.escape(v)) for k, v in ITEMS.items())
    respond("200 OK", "text/html; charset=utf-8", page("Catalogue", "<h1>Catalogue</h1><ul>%s</ul>" % links))
elif PATH.startswith("/items/") and PATH[len("/items/"):] in ITEMS:
    key = PATH[len("/items/"):]
    if os.environ.get("QUERY_STRING") == "format=json":
        respond("200 OK", "application/json", json.dumps({"id": key, "name": ITEMS[key], "uri": os.environ["REQUEST_URI"]}))
    else:
        respond("200 OK", "text/html; charset=utf-8", page(ITEMS[key], '<h1 id="item">%s</h1><a href="%s/">All items</a>' % (html.escape(ITEMS[key]), BASE)))
elif PATH.startswith("/static/") and "/" not in PATH[len("/static/"):]:
    name = os.path.join(HERE, "static", PATH[len("/static/"):])
    if os.path.isfile(name):
        with open(name, "rb") as f:
            respond("200 OK", mimetypes.guess_type(name)[0] or "application/octet-stream", f.read())
    else:
        respond("404 Not Found", "text/plain", "no such file\n")
else:
    respond("404 Not Found", "text/html; charset=utf-8", page("Not found", "<h1>Not found</h1><p>%s</p>" % html.escape(PATH)))
