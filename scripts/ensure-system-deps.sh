#!/usr/bin/env bash
# Installs what the tests spawn or drive, from Debian's packages, when it is missing:
# sh, python3 and perl scripts, ps (procps) and Chromium for the browser test. Also, when it
# can (root with apt-get), Debian's arm64 cross compiler, so that test/native/pack.test.ts checks
# the linux-arm64 prebuild too; without it that check is skipped, except in CI, which must have it.
set -euo pipefail
missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v perl >/dev/null || missing+=(perl)
command -v ps >/dev/null || missing+=(procps)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
optional=()
# libc6-dev-arm64-cross is only recommended by the compiler, and the addon needs its headers.
command -v aarch64-linux-gnu-gcc >/dev/null && [ -d /usr/aarch64-linux-gnu/include ] ||
  optional+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
[ ${#missing[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  if [ ${#missing[@]} -eq 0 ]; then
    echo "note: without ${optional[*]}, the test of the packed linux-arm64 prebuild is skipped" >&2
    exit 0
  fi
  echo "cgibridge tests need: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing ${missing[*]} ${optional[*]} from Debian's packages"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" "${optional[@]}" >/dev/null
