#!/usr/bin/env bash
# Brings a fresh machine to a working tree: pnpm, dependencies, the Debian tools the tests use, a build.
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/apt.sh

pnpm_version=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if [ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_version" ]; then
  echo "setup: installing pnpm $pnpm_version" >&2
  npm install -g --silent "pnpm@$pnpm_version" >/dev/null
fi

# Debian tools: clang-19 builds fixtures, llvm-19 and bpftool/libbpf-dev are the reference the tests compare with.
need_cmd clang-19 clang-19
need_cmd llvm-readelf-19 llvm-19
need_cmd bpftool bpftool
need_pkg libbpf-dev /usr/include/bpf/libbpf.h
need_cmd gcc gcc

if [ ! -d node_modules/.pnpm ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  echo "setup: installing dependencies" >&2
  pnpm install --frozen-lockfile --reporter=silent
fi
mkdir -p .cache
if ! TURBO_TELEMETRY_DISABLED=1 pnpm exec turbo run build --output-logs=errors-only >.cache/build.log 2>&1; then
  cat .cache/build.log >&2
  echo "setup: build failed" >&2
  exit 1
fi
