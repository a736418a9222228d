#!/usr/bin/env bash
# The README's two commands as a new user on a fresh machine meets them: in a clone of HEAD, with an empty
# HOME (no pnpm store, no ~/.cache/xbpf-test-vm kernels or KVM probe answer) and no pnpm on PATH (the
# machine's stays installed, shadowed by a stub; setup's `npm install -g pnpm` goes to a temporary npm prefix
# that comes first in PATH), `npm run demo`, then `npm test` with one kernel of the VM matrix.
# Prints each command's exit status and duration; exits 1 when either failed.
#
# Usage: bash tools/fresh-machine.sh [KERNELS]
#   KERNELS (or XBPF_FRESH_KERNELS): XBPF_VM_KERNELS for `npm test` (default: the oldest of test-vm/kernels.conf)
#   XBPF_FRESH_KEEP=1: keep the temporary folders (clone, HOME, npm prefix) instead of removing them
# Logs: .cache/fresh-machine/{demo,test}.log in this checkout.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "fresh-machine: $*" >&2; }
die() { say "error: $*"; exit 1; }

kernels=${1:-${XBPF_FRESH_KERNELS:-}}
if [ -z "$kernels" ]; then
  kernels=$(awk '!/^[[:space:]]*(#|$)/ && $3 ~ /^[0-9]/ { print $3, $1 }' "$repo/test-vm/kernels.conf" |
    sort -V | awk 'NR == 1 { print $2 }')
  [ -n "$kernels" ] || die "no versioned kernel in test-vm/kernels.conf"
fi

head=$(git -C "$repo" rev-parse HEAD)
dirty=$(git -C "$repo" status --porcelain --untracked-files=no)
if [ -n "$dirty" ]; then
  n=$(wc -l <<<"$dirty")
  say "warning: uncommitted changes to tracked files ($n) are not in the clone (HEAD ${head:0:12}):"
  awk 'NR <= 10 { print "  " $0 } NR == 11 { print "  …" }' <<<"$dirty" >&2
fi

# The machine's npm global configuration (CA file and the like) stays: it lives under npm's prefix, which
# moves below, so it is named explicitly.
globalconfig=$(npm config get globalconfig 2>/dev/null || true)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xbpf-fresh.XXXXXX")
cleanup() {
  if [ -n "${XBPF_FRESH_KEEP:-}" ]; then
    say "kept $tmp (clone, home, npm-prefix)"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
clone=$tmp/clone prefix=$tmp/npm-prefix
mkdir -p "$tmp/home" "$prefix/bin" "$tmp/no-pnpm"
git clone --quiet --no-checkout "$repo" "$clone"
git -C "$clone" checkout --quiet --detach "$head"
for c in pnpm pnpx; do
  printf '#!/bin/sh\necho "%s: command not found" >&2\nexit 127\n' "$c" >"$tmp/no-pnpm/$c"
  chmod 755 "$tmp/no-pnpm/$c"
done

# The fresh environment: nothing of this user's caches or configuration, no pnpm.
while read -r v; do
  case $v in npm_* | NPM_* | PNPM_* | XDG_*) unset "$v" ;; esac
done < <(compgen -e)
unset XBPF_SKIP_VM XBPF_VM_CACHE XBPF_VM_RUNS XBPF_VM_ACCEL
export HOME=$tmp/home NPM_CONFIG_PREFIX=$prefix PATH="$prefix/bin:$tmp/no-pnpm:$PATH" XBPF_VM_KERNELS=$kernels
[ -z "$globalconfig" ] || [ ! -e "$globalconfig" ] || export NPM_CONFIG_GLOBALCONFIG=$globalconfig
hash -r
if pnpm --version >/dev/null 2>&1; then die "pnpm still runs in the fresh environment ($(command -v pnpm))"; fi

logs=$repo/.cache/fresh-machine
mkdir -p "$logs"
say "commit $(git -C "$repo" log -1 --format='%h %s' "$head")"
say "clone $clone, HOME=$HOME, npm prefix $prefix, XBPF_VM_KERNELS=$kernels"

duration() { printf '%d min %02d s' $(($1 / 60)) $(($1 % 60)); }
# step NAME LOG CMD…: runs CMD in the clone, its output to the terminal and LOG; sets rc and secs.
step() {
  local name=$1 log=$2 start=$SECONDS
  shift 2
  say "== $name"
  set +e
  (cd "$clone" && "$@") </dev/null 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  secs=$((SECONDS - start))
}

step "npm run demo" "$logs/demo.log" npm run demo
demo_rc=$rc demo_secs=$secs
# Setup (run by the demo) must have installed pnpm itself, into the temporary prefix.
pnpm_line=$(grep -m1 '^setup: installing pnpm' "$logs/demo.log" || true)
hash -r
if [ -n "$pnpm_line" ] && [ -x "$prefix/bin/pnpm" ] && [ "$(command -v pnpm)" = "$prefix/bin/pnpm" ]; then
  pnpm_said="setup installed pnpm $(pnpm --version) into $prefix/bin (\"${pnpm_line#setup: }\")"
  pnpm_ok=1
else
  pnpm_said="setup did not install pnpm into $prefix/bin (pnpm on PATH: $(command -v pnpm || echo none))"
  pnpm_ok=
fi

step "npm test" "$logs/test.log" npm test
test_rc=$rc test_secs=$secs

tests_line=$(grep -E '^tests: [0-9]+ passed' "$logs/test.log" | tail -n1 || true)
accel_line=$(grep -m1 -E '^test-vm: .*: using (KVM|TCG)' "$logs/test.log" || true)
echo
echo "== fresh machine: $(git -C "$repo" log -1 --format='%h %s' "$head")"
echo "npm run demo: exit $demo_rc in $(duration "$demo_secs")"
echo "npm test (XBPF_VM_KERNELS=$kernels): exit $test_rc in $(duration "$test_secs"); ${tests_line:-no closing tests: line}"
echo "pnpm: $pnpm_said"
echo "accel: ${accel_line:-no KVM decision in the log}"
echo "logs: $logs/demo.log, $logs/test.log"
[ "$demo_rc" = 0 ] && [ "$test_rc" = 0 ] && [ -n "$pnpm_ok" ]
