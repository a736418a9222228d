#!/usr/bin/env bash
# Every test: lint and typecheck, unit and property tests, kernel tests on the running kernel (root), the
# reference comparisons, then the kernel tests again on each kernel of the VM matrix (XBPF_SKIP_VM=1 skips it).
# Prints one closing line "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
if [ "$(id -u)" = 0 ]; then
  mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
  # Kernels before 5.11 charge maps against RLIMIT_MEMLOCK; a container may forbid raising it.
  ulimit -l unlimited 2>/dev/null || echo "test: cannot raise RLIMIT_MEMLOCK (now $(ulimit -l))" >&2
fi
echo "== lint and typecheck"
pnpm exec biome lint --diagnostic-level=error
pnpm exec tsc -p tsconfig.tests.json

echo "== unit, property, kernel and reference tests (host kernel $(uname -r))"
mkdir -p .cache
report=.cache/vitest.json
status=0
rm -f "$report"
vitest_rc=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || vitest_rc=$?
# With a report, tools/summary.mjs gives the verdict: it counts a test that needs a feature this kernel
# lacks as unsupported (reason printed), which vitest's own exit code counts as a failure.
if [ ! -s "$report" ]; then
  echo "test: vitest exited $vitest_rc without a report" >&2
  status=1
fi
# The same kernel tests on every kernel of the matrix (test-vm/kernels.conf), in QEMU: a full run only.
matrix=()
if [ -z "${XBPF_SKIP_VM:-}" ] && [ $# -eq 0 ]; then
  echo "== kernel matrix (test-vm)"
  started=$(date +%s%3N)
  vm_rc=0
  bash test-vm/run.sh || vm_rc=$?
  [ "$vm_rc" = 0 ] || { echo "test: the kernel matrix (test-vm/run.sh) exited $vm_rc" >&2; status=1; }
  matrix=(test-vm/.cache/runs/last/matrix.json "$started")
fi
node tools/summary.mjs "$report" "${matrix[@]}" || status=1
exit $status
