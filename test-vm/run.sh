#!/usr/bin/env bash
# The VM test matrix: boots each kernel of kernels.conf in QEMU (TCG unless KVM provably works) and runs
# the kernel tests (packages/*/test/**/*.kernel.test.ts) inside; the host kernel runs them directly.
# Prints the kernel × test-file matrix; exits 0 when no kernel has a failed cell, a panic or a timeout.
#
# Usage: bash test-vm/run.sh [TEST_FILE…]      (default: every *.kernel.test.ts)
# Environment:
#   XBPF_VM_KERNELS=6.1,5.10   names from kernels.conf to run (default: all, in file order)
#   XBPF_VM_TIMEOUT=900        seconds per kernel boot (boot + suite) before it counts as a timeout (twice that for single-threaded TCG)
#   XBPF_VM_ACCEL=tcg|kvm      skip the KVM probe (its answer is cached per machine and said at every run)
#   XBPF_VM_NO_VNG=1           do not use vng even when on PATH
#   XBPF_VM_MIRROR=URI         Debian mirror (default: the one in this machine's apt sources)
#   XBPF_VM_APT_MAX_AGE=86400  seconds before the per-suite package lists are refreshed
#   XBPF_VM_KOPT="…"           extra kernel command line (debugging)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$vm_dir/lib/kernel.sh"
source "$vm_dir/lib/initramfs.sh"
source "$vm_dir/lib/boot.sh"
cd "$repo"

# fetch_meta SUITE WHAT META: fetches the kernel and writes what the matrix says about it to META.
fetch_meta() {
  fetch_kernel "$1" "$2"
  printf 'SUITE=%s\nKVER=%s\nPKG=%s\nDEBVER=%s\n' "$1" "$K_VER" "$K_PKG" "$K_DEBVER" >"$3"
}

[ "$(id -u)" = 0 ] || die "needs root (BPF in the guest and on the host, apt for the tools)"
ensure_tools
[ -e node_modules/vitest/vitest.mjs ] || bash tools/setup.sh # a fresh clone: dependencies and build

# The test files.
if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(find packages/*/test -name '*.kernel.test.ts' 2>/dev/null | LC_ALL=C sort)
fi
[ ${#files[@]} -gt 0 ] || die "no *.kernel.test.ts files under packages/*/test: nothing to run"

# The kernels.
declare -a names suites whats opts
while read -r n s w o; do
  case $n in '' | '#'*) continue ;; esac
  case ${o:-} in '' | tcg-single=?*) ;; *) die "kernels.conf: kernel '$n' has an unknown option '$o' (known: tcg-single=FILE,…)" ;; esac
  names+=("$n") suites+=("$s") whats+=("$w") opts+=("${o:-}")
done <"$vm_dir/kernels.conf"
selected=()
if [ -n "${XBPF_VM_KERNELS:-}" ]; then
  IFS=', ' read -r -a want <<<"$XBPF_VM_KERNELS"
  for w in "${want[@]}"; do
    found=
    for i in "${!names[@]}"; do [ "${names[$i]}" = "$w" ] && selected+=("$i") && found=1; done
    [ -n "$found" ] || die "unknown kernel '$w' (kernels.conf has: ${names[*]})"
  done
else
  selected=("${!names[@]}")
fi

# run_vm_part NAME OUT THREADS TIMEOUT FILE…: one boot of the kernel of $tree/$KVER running FILEs, results in
# OUT (THREADS: empty, or "single" for single-threaded TCG), with the reruns the emulator's failures get.
run_vm_part() {
  local name=$1 out=$2 threads=$3 t=$4
  shift 4
  mkdir -p "$out"
  printf '%s\n' "$@" >"$out/files.txt"
  # The guest's suite stops a little before the host's timeout so that its report still gets written.
  write_suite_env "$out" "$((t > 120 ? t - 60 : t))" "$tree/lib/modules/$KVER" "$(tree_kconfig "$tree" "$KVER")" "$@"
  boot_kernel "$name" "$tree" "$KVER" "$out" "$t" "$threads"
  # A kernel that dies while booting, before the suite printed anything, is the emulator's problem
  # (TCG races in early text patching have been seen), not the tests': boot it once more, keeping the log.
  source "$out/vm.env"
  if [ "$VM_STATUS" != ok ] && [ "$VM_STATUS" != timeout ] && [ ! -s "$out/output.log" ]; then
    [ ! -e "$out/console.log" ] || mv "$out/console.log" "$out/console.boot-failure.log"
    log "$name: VM $VM_STATUS while booting, before the suite started (console.boot-failure.log); booting again"
    boot_kernel "$name" "$tree" "$KVER" "$out" "$t" "$threads"
    source "$out/vm.env"
  fi
  # Under multi-threaded TCG, live kernel text patching (text_poke: the BPF dispatcher of XDP, static keys)
  # can leave another vCPU executing the temporary int3 after the patch is done, and the kernel oopses on it
  # ("Oops: int3"): the emulator's cross-modifying code, not the tests. Single-threaded TCG runs the vCPUs
  # one at a time and does not race: such a run is made once more that way (twice the time), keeping the
  # first logs. Any other panic, or one in single-threaded TCG, stands.
  if [ "$VM_STATUS" = panic ] && [ "${VM_ACCEL:-}" = tcg ] && grep -q 'Oops: int3' "$out/console.log" 2>/dev/null; then
    mv "$out/console.log" "$out/console.int3-oops.log"
    [ ! -e "$out/output.log" ] || mv "$out/output.log" "$out/output.int3-oops.log"
    log "$name: the kernel oopsed on a text-patching int3 under multi-threaded TCG (console.int3-oops.log); running these tests once more in single-threaded TCG"
    write_suite_env "$out" "$((2 * t - 60))" "$tree/lib/modules/$KVER" "$(tree_kconfig "$tree" "$KVER")" "$@"
    boot_kernel "$name" "$tree" "$KVER" "$out" "$((2 * t))" single
  fi
}

timeout=${XBPF_VM_TIMEOUT:-900}
run_dir=$runs/$(date +%Y%m%d-%H%M%S)
mkdir -p "$run_dir"
printf '%s\n' "${files[@]}" >"$run_dir/files.txt"
: >"$run_dir/kernels.txt"
ln -sfn "$run_dir" "$runs/last"
log "${#files[@]} test files, kernels: $(for i in "${selected[@]}"; do printf '%s ' "${names[$i]}"; done)(results in $run_dir)"

for i in "${selected[@]}"; do
  name=${names[$i]} suite=${suites[$i]} what=${whats[$i]}
  out=$run_dir/$name
  mkdir -p "$out"
  echo "$name" >>"$run_dir/kernels.txt"
  if [ "$what" = running ]; then
    # The guest's suite stops a little before the host's timeout so that its report still gets written.
    write_suite_env "$out" "$((timeout > 120 ? timeout - 60 : timeout))" "" "" "${files[@]}"
    printf 'SUITE=host\nKVER=%s\n' "$(uname -r)" >"$out/meta.env"
    log "$name: Linux $(uname -r), directly on the host"
    run_on_host "$name" "$out" "$timeout"
  else
    # A kernel that cannot be fetched fails its row and the others still run. run_step keeps errexit in
    # force inside fetch_kernel (an `if ! (fetch_kernel …)` would switch it off and go on with empty values).
    run_step fetched fetch_meta "$suite" "$what" "$out/meta.env"
    if [ "$fetched" != 0 ]; then
      log "$name: fetching the kernel failed (above): this kernel counts as failed"
      printf 'VM_STATUS=fetch-failed\nVM_RC=1\nVM_SECONDS=0\n' >"$out/vm.env"
      continue
    fi
    source "$out/meta.env"
    log "$name: Linux $KVER ($PKG $DEBVER from $suite)"
    tree=$cache/kernels/${PKG}_$DEBVER # its modules, for kernel tests that load one (packages/sys/test/modules.ts)
    # kernels.conf `tcg-single=FILE,…`: under TCG those of the files run in a boot of their own under
    # single-threaded TCG (see run_vm_part), the others as usual; report.mjs joins the two.
    main=("${files[@]}") single=()
    pick_accel "$tree/boot/vmlinuz-$KVER"
    if [ "$accel" = tcg ] && [ -n "${opts[$i]}" ]; then
      IFS=, read -r -a wanted <<<"${opts[$i]#tcg-single=}"
      main=() single=()
      for f in "${files[@]}"; do
        if printf '%s\n' "${wanted[@]}" | grep -qxF -- "$f"; then single+=("$f"); else main+=("$f"); fi
      done
    fi
    rm -rf "$out/tcg-single"
    [ ${#main[@]} -eq 0 ] || run_vm_part "$name" "$out" "" "$timeout" "${main[@]}"
    if [ ${#single[@]} -gt 0 ]; then
      log "$name: ${#single[@]} test file(s) in single-threaded TCG (kernels.conf): ${single[*]}"
      run_vm_part "$name" "$out/tcg-single" single "$((2 * timeout))" "${single[@]}"
      source "$out/tcg-single/vm.env"
      log "$name: single-threaded TCG part: VM $VM_STATUS, suite exit $VM_RC, ${VM_SECONDS}s"
      [ ${#main[@]} -gt 0 ] || cp "$out/tcg-single/vm.env" "$out/vm.env"
    fi
  fi
  source "$out/vm.env"
  log "$name: VM $VM_STATUS, suite exit $VM_RC, ${VM_SECONDS}s"
done

# Keep the cache bounded: the last 10 runs, and kernel trees used in the last 30 days.
find "$runs" -mindepth 1 -maxdepth 1 -type d -name '2*' | LC_ALL=C sort | head -n -10 | xargs -r rm -rf
find "$cache/kernels" -mindepth 2 -maxdepth 2 -name .complete -mtime +30 -printf '%h\0' | xargs -0 -r rm -rf

echo
node "$vm_dir/lib/report.mjs" "$run_dir" "$repo"
