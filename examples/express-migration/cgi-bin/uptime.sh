#!/bin/sh
# Server status, the way device UIs do it.
printf 'Content-Type: text/plain; charset=utf-8\n\n'
echo "host: $SERVER_NAME:$SERVER_PORT"
echo "served by: $SERVER_SOFTWARE"
echo "script: $SCRIPT_NAME"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
