#!/usr/bin/env bash
# Every test: unit and property tests, kernel tests on the running kernel (root), the reference comparisons.
# Prints one closing line "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
if [ "$(id -u)" = 0 ]; then
  mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
  ulimit -l unlimited 2>/dev/null || true
fi
echo "== lint and typecheck"
pnpm exec biome lint --diagnostic-level=error
pnpm exec tsc -p tsconfig.tests.json

echo "== unit, property, kernel and reference tests (host kernel $(uname -r))"
mkdir -p .cache
report=.cache/vitest.json
status=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node tools/summary.mjs "$report" || status=1
exit $status
