#!/usr/bin/env bash
# Runs the kernel tests on the running kernel: inside the VM (started by guest/init or by vng) and, for
# the host row of the matrix, directly on the host. Usage: suite.sh OUT
# OUT/suite.env gives REPO, NODE, TIMEOUT, XBPF_CI, MODULES_DIR, KCONFIG and the FILES array; the vitest JSON report
# goes to OUT/results.json and the exit status to OUT/status.
set -u
out=$1
source "$out/suite.env"
export PATH="$(dirname "$NODE"):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export HOME=${HOME:-/root} NO_COLOR=1 FORCE_COLOR=0
if [ "$XBPF_CI" = true ]; then export CI=true; else unset CI; fi
# For the tests: where the running kernel's modules are (the guest has no /lib/modules of its own: its root
# is the host's; the kernel tree of the runner's cache is reachable through it; packages/sys/test/modules.ts).
if [ -n "${MODULES_DIR:-}" ]; then export XBPF_MODULES_DIR=$MODULES_DIR; fi
# A Debian machine has its kernel's configuration in /boot; the guest's root is the host's under a writable
# overlay, so the kernel tree's copy goes there (never on the host row, which has no KCONFIG).
if [ -n "${KCONFIG:-}" ] && [ ! -e "/boot/config-$(uname -r)" ]; then
  mkdir -p /boot && cp "$KCONFIG" "/boot/config-$(uname -r)" || echo "suite: no kernel configuration for the tests ($KCONFIG)"
fi

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
# On kernels before 5.11 maps are charged against RLIMIT_MEMLOCK. (A container host may forbid raising it.)
ulimit -l unlimited 2>/dev/null || echo "suite: cannot raise RLIMIT_MEMLOCK (now $(ulimit -l))"

cd "$REPO" || exit 1
echo "suite: [uptime $(cut -d" " -f1 /proc/uptime)] Linux $(uname -r), node $("$NODE" --version), ${#FILES[@]} test files${MODULES_DIR:+, modules in $MODULES_DIR}"
rm -f "$out/results.json" "$out/status"
# Piped through cat: on a serial console stdout is a tty and vitest would redraw its progress in place.
{ timeout -k 10 "$TIMEOUT" "$NODE" node_modules/vitest/vitest.mjs run --reporter=default --reporter=json \
  --outputFile.json="$out/results.json" "${FILES[@]}" 2>&1
  echo $? >"$out/status.tmp"; } | cat
rc=$(cat "$out/status.tmp" 2>/dev/null || echo 1)
rm -f "$out/status.tmp"
[ "$rc" = 124 ] && echo "suite: vitest timed out after ${TIMEOUT}s"
echo "$rc" >"$out/status"
# Under vng the run folder may not be writable through to the host (its overlays): also print the report.
if [ -n "${XBPF_EMIT_RESULTS:-}" ] && [ -s "$out/results.json" ]; then
  echo xbpf-results-begin
  base64 -w 76 "$out/results.json"
  echo xbpf-results-end
fi
sync
exit "$rc"
