#!/usr/bin/env bash
# Brings a fresh machine to a working tree: pnpm, dependencies, the Debian tools the tests use, a build.
# Idempotent and quiet when everything is already there; each step it does take is named on one line,
# and the output of a failed step is printed (logs of pnpm's and npm's installs and of the build are in .cache/).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/apt.sh
mkdir -p .cache

# logged LOG WHAT CMD…: runs CMD with its output in LOG; silent when it succeeds, else prints LOG and exits.
logged() {
  local log=$1 what=$2 rc=0
  shift 2
  "$@" >"$log" 2>&1 || rc=$?
  [ "$rc" = 0 ] && return 0
  cat "$log" >&2
  echo "setup: $what failed: \`$*\` exited $rc (output above, also in $log)" >&2
  exit 1
}

pnpm_version=$(node -p 'require("./package.json").packageManager.split("@")[1]')
have=$(pnpm --version 2>/dev/null || true)
if [ "$have" != "$pnpm_version" ]; then
  echo "setup: installing pnpm $pnpm_version with npm (pnpm on PATH: ${have:-none})" >&2
  logged .cache/npm-install-pnpm.log "installing pnpm" npm install -g "pnpm@$pnpm_version"
  hash -r
  have=$(pnpm --version 2>/dev/null || true)
  if [ "$have" != "$pnpm_version" ]; then
    prefix=$(npm prefix -g 2>/dev/null || echo '?')
    echo "setup: npm installed pnpm $pnpm_version into $prefix/bin, but the pnpm on PATH is" \
      "$(command -v pnpm || echo 'missing') (version ${have:-unknown}): put $prefix/bin first in PATH" >&2
    exit 1
  fi
fi

# Debian tools: clang-19 builds fixtures, llvm-19 and bpftool/libbpf-dev are the reference the tests compare with.
need_cmd clang-19 clang-19
need_cmd llvm-readelf-19 llvm-19
need_cmd bpftool bpftool
need_pkg libbpf-dev /usr/include/bpf/libbpf.h
need_cmd gcc gcc
need_cmd python3 python3 # the CO-RE selftest cases builder generates a header with it
need_pkg libelf-dev /usr/include/libelf.h # libbpf of the selftests sample (tools/selftests-corpus.mjs)
need_pkg zlib1g-dev /usr/include/zlib.h
# libbpf's own sources (tools/lib/bpf of the kernel tree), which a test reads to generate a table.
need_pkg linux-source-6.12 /usr/src/linux-source-6.12.tar.xz

if [ ! -d node_modules/.pnpm ]; then
  why="no node_modules"
elif [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  why="pnpm-lock.yaml is newer than node_modules"
else
  why=
fi
if [ -n "$why" ]; then
  echo "setup: installing dependencies with pnpm ($why)" >&2
  logged .cache/pnpm-install.log "installing dependencies" pnpm install --frozen-lockfile
fi
logged .cache/build.log "the build" env TURBO_TELEMETRY_DISABLED=1 pnpm exec turbo run build --output-logs=errors-only
