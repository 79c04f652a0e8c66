#!/bin/sh
# The menu: a plain shell script, as found in many old device UIs.
cat <<HTML
Content-Type: text/html; charset=utf-8

<!doctype html>
<title>Legacy cgi-bin</title>
<h1>Legacy cgi-bin, served by cgibridge</h1>
<ul>
  <li><a href="${SCRIPT_NAME%/index.sh}/hello.sh/some/path?a=1">hello.sh</a>: a shell script with PATH_INFO and a query</li>
  <li><a href="${SCRIPT_NAME%/index.sh}/guestbook.py">guestbook.py</a>: a Python form that posts, stores and redirects (303)</li>
  <li><a href="${SCRIPT_NAME%/index.sh}/env.pl">env.pl</a>: a Perl script showing the CGI environment</li>
  <li><a href="${SCRIPT_NAME%/index.sh}/today.sh">today.sh</a>: a local redirect (RFC 3875 6.2.2) to another script</li>
</ul>
<p>Served at $SERVER_NAME:$SERVER_PORT by $SERVER_SOFTWARE.</p>
HTML
