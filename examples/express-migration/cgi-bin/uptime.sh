#!/bin/sh
# Server status, the way device UIs do it.
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
# Everything shown comes from the environment or the kernel: escape it anyway, as a careful shell script would.
escape() { printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'; }
printf 'Content-Type: text/html; charset=utf-8\n\n'
cat <<PAGE
<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Server status</title>
<link rel="stylesheet" href="/style.css"><link rel="icon" href="/favicon.svg" type="image/svg+xml"></head><body>
<header><a href="/">Acme intranet</a> <span class="badge legacy">legacy CGI</span></header><main>
<h1>Server status</h1>
<table id="status">
<tr><th>host</th><td id="host">$(escape "$SERVER_NAME:$SERVER_PORT")</td></tr>
<tr><th>served by</th><td id="software">$(escape "$SERVER_SOFTWARE")</td></tr>
<tr><th>script</th><td id="script">$(escape "$SCRIPT_NAME")</td></tr>
<tr><th>load</th><td id="load">$(escape "$load")</td></tr>
</table>
<p><a id="home" href="/">Back to the home page</a></p></main></body></html>
PAGE
