#!/usr/bin/env python3
import cgi
form = cgi.FieldStorage()
print("Content-Type: text/plain\n")
for key in sorted(form.keys()):
    print(key, form.getlist(key))
