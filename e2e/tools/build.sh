#!/usr/bin/env bash
# build.sh builds the pinned binaries of the local Sigstore stack, the cosign
# CLIs, policy-tester and the Kyverno CLI into a cache outside the repository,
# keyed by version and by the hash of each tool module's go.sum (or, for a
# module built inside itself, of its checksum), so a second run builds nothing.
#
# Usage: e2e/tools/build.sh [DIR]   (prints DIR, default $KEYLESS_TOOLS)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${KEYLESS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/keyless/tools}}
mkdir -p "$out/bin"
jobs=${KEYLESS_BUILD_JOBS:-3}
start=$(date +%s)

# moduledir downloads module@version and prints its directory in the module
# cache (for modules whose replace directives make `go install` refuse them).
moduledir() {
  go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

build() {
  local dir=$1 bin=$2 pkg=$3 ver=$4
  local sum key target src
  case "$dir" in
    module:*)
      src=$(moduledir "${dir#module:}" "$ver")
      [ -n "$src" ] || { echo "downloading ${dir#module:}@$ver failed" >&2; return 1; }
      sum=$(sha256sum "$src/go.sum" | cut -c1-12) ;;
    *)
      src="$here/$dir"
      sum=$(sha256sum "$src/go.sum" | cut -c1-12) ;;
  esac
  key="$bin-$ver-$sum"
  target="$out/cache/$key"
  if [ ! -x "$target" ]; then
    local t0=$(date +%s)
    mkdir -p "$out/cache"
    (cd "$src" && CGO_ENABLED=0 go build -buildvcs=false -trimpath -ldflags='-s -w' -o "$target.tmp" "$pkg")
    mv "$target.tmp" "$target"
    echo "built $bin $ver in $(( $(date +%s) - t0 ))s" >&2
  fi
  ln -sfn "$target" "$out/bin/$bin"
}

running=0
while read -r dir bin pkg ver; do
  case "$dir" in ''|'#'*) continue ;; esac
  build "$dir" "$bin" "$pkg" "$ver" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done < "$here/tools.txt"
wait
echo "tools ready in $out/bin ($(( $(date +%s) - start ))s)" >&2
echo "$out"
