#!/bin/sh
# A local redirect: the server answers with another script, the client sees no redirect.
printf 'Location: %s/hello.sh/today?%s\n\n' "$(dirname "$SCRIPT_NAME")" "$(date +%Y-%m-%d)"
