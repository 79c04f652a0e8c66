#!/usr/bin/python3
# A classic form handler: cgi.FieldStorage parses an urlencoded POST, the reply echoes the fields.
import warnings

# The cgi module is deprecated (removed in Python 3.13); the warning would cost a stderr line per request.
warnings.filterwarnings("ignore", category=DeprecationWarning)
import cgi  # noqa: E402
import sys  # noqa: E402

form = cgi.FieldStorage()
body = "".join(f"{key}={form.getfirst(key)}\n" for key in sorted(form.keys()))
sys.stdout.write("Content-Type: text/plain\r\n\r\n" + body)
