#!/usr/bin/env bash
# build.sh builds the pinned binaries of the local Sigstore stack, the cosign
# CLIs, policy-tester and the Kyverno CLI into a cache outside the repository,
# keyed by version and by the hash of each tool module's go.sum (or, for a
# module built inside itself, of its checksum), so a second run builds nothing.
#
# A cold build takes minutes per tool on 2 cores, so it reports on stderr as
# it goes: how many tools it builds, each tool as it starts and ends ([i/n],
# its time and the time since the start), and every KEYLESS_BUILD_PROGRESS
# seconds (default 30) the tools still building. A warm run prints one line.
#
# Usage: e2e/tools/build.sh [DIR]   (prints DIR, default $KEYLESS_TOOLS)
#        KEYLESS_BUILD_FOR=demo e2e/tools/build.sh   (only what scripts/demo runs)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${KEYLESS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/keyless/tools}}
mkdir -p "$out/bin" "$out/cache"
# One build at a time per cache: a second run (scripts/deps, then the
# stack's own check) waits for the first and finds its tools built.
exec 9>"$out/cache/.lock"
flock 9
jobs=${KEYLESS_BUILD_JOBS:-3}
every=${KEYLESS_BUILD_PROGRESS:-30}
start=$(date +%s)

# moduledir downloads module@version and prints its directory in the module
# cache (for modules whose replace directives make `go install` refuse them).
moduledir() {
  go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

since() { echo $(( $(date +%s) - $1 )); }

# The plan: link every tool already in the cache, list the others to build.
# KEYLESS_BUILD_FOR=demo plans only the tools tools.txt marks "demo".
only=${KEYLESS_BUILD_FOR:-}
case "$only" in ''|demo) ;; *) echo "build.sh: KEYLESS_BUILD_FOR=$only: use demo, or leave it unset for every tool" >&2; exit 2 ;; esac
plan=()
while read -r dir bin pkg ver use; do
  case "$dir" in ''|'#'*) continue ;; esac
  if [ -n "$only" ] && [ "${use:-}" != "$only" ]; then continue; fi
  case "$dir" in
    module:*)
      src=$(moduledir "${dir#module:}" "$ver")
      [ -n "$src" ] || { echo "downloading ${dir#module:}@$ver failed" >&2; exit 1; } ;;
    *) src="$here/$dir" ;;
  esac
  key="$bin-$ver-$(sha256sum "$src/go.sum" | cut -c1-12)"
  if [ -x "$out/cache/$key" ]; then
    ln -sfn "$out/cache/$key" "$out/bin/$bin"
  else
    plan+=("$src $bin $pkg $ver $key")
  fi
done < "$here/tools.txt"
n=${#plan[@]}

# Each build in progress is a file in $state holding its start time and
# its label; a failed one leaves a .failed file.
state=$(mktemp -d)
heartbeat=""
cleanup() {
  [ -z "$heartbeat" ] || kill "$heartbeat" 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT

build() {
  local i=$1 src=$2 bin=$3 pkg=$4 ver=$5 key=$6
  local target="$out/cache/$key" t0
  t0=$(date +%s)
  echo "$t0 [$i/$n] $bin" > "$state/$i.running"
  echo "build.sh: [$i/$n] $bin $ver: building" >&2
  local ok=0
  (cd "$src" && CGO_ENABLED=0 go build -buildvcs=false -trimpath -ldflags='-s -w' -o "$target.tmp" "$pkg") && mv "$target.tmp" "$target" && ok=1
  rm -f "$state/$i.running"
  if [ "$ok" = 1 ]; then
    ln -sfn "$target" "$out/bin/$bin"
    echo "build.sh: [$i/$n] $bin $ver: built in $(since "$t0")s ($(since "$start")s since the start)" >&2
  else
    echo "build.sh: [$i/$n] $bin $ver: FAILED after $(since "$t0")s" >&2
    echo "$bin" > "$state/$i.failed"
  fi
}

# progress prints the builds still running every $every seconds, until it
# is sent TERM (it then ends its sleep too, which would otherwise hold the
# script's output open).
progress() {
  local nap="" f t0 label line
  trap '[ -z "$nap" ] || kill "$nap" 2>/dev/null; exit 0' TERM
  while :; do
    sleep "$every" & nap=$!
    wait "$nap" || true
    line=""
    for f in "$state"/*.running; do
      [ -e "$f" ] || continue
      read -r t0 label < "$f" || continue
      line+="${line:+, }$label $(since "$t0")s"
    done
    [ -z "$line" ] || echo "build.sh: still building $line ($(since "$start")s since the start)" >&2
  done
}

if [ "$n" -gt 0 ]; then
  echo "build.sh: building $n of the tools in tools.txt${only:+ that $only runs}, $jobs at a time, into $out (minutes each on 2 cores; later runs reuse them)" >&2
  progress >/dev/null &
  heartbeat=$!
  pids=() i=0 running=0
  for entry in "${plan[@]}"; do
    i=$((i + 1))
    # shellcheck disable=SC2086 # the plan's fields hold no spaces
    build "$i" $entry &
    pids+=("$!")
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  failed=""
  for f in "$state"/*.failed; do
    if [ -e "$f" ]; then failed+="${failed:+, }$(cat "$f")"; fi
  done
  if [ -n "$failed" ]; then
    echo "build.sh: building $failed failed (the go build errors are above)" >&2
    exit 1
  fi
fi
echo "tools ready in $out/bin ($(since "$start")s)" >&2
echo "$out"
