#!/usr/bin/env bash
# Installs what the benchmark drives, from Debian's packages, when it is missing: wrk (the load
# generator), Go (net/http/cgi, the Go peer) and lighttpd (mod_cgi). Never fails: a peer that
# cannot be had is reported unavailable by the runner, which still completes.
set -uo pipefail
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v go >/dev/null || missing+=(golang-go)
command -v lighttpd >/dev/null || missing+=(lighttpd)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "bench: missing ${missing[*]}; those hosts will be unavailable (install them, e.g. sudo apt-get install ${missing[*]})" >&2
  exit 0
fi
echo "bench: installing ${missing[*]} from Debian's packages" >&2
apt-get update -qq >&2
# On a machine with systemd, lighttpd's package also enables its system service (port 80);
# the bench never uses it: it runs its own instance, on loopback, from a generated config.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
  echo "bench: could not install ${missing[*]}; those hosts will be unavailable" >&2
exit 0
