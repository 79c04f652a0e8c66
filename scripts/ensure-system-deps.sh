#!/usr/bin/env bash
# Installs what the tests spawn or drive, from Debian's packages, when it is missing:
# sh, python3 and perl scripts, ps (procps) and Chromium for the browser test.
set -euo pipefail
missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v perl >/dev/null || missing+=(perl)
command -v ps >/dev/null || missing+=(procps)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "cgibridge tests need: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing ${missing[*]} from Debian's packages"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
