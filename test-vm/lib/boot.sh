# Boots one kernel in QEMU (or through vng when it is on PATH) and runs guest/suite.sh inside.
# Sourced; needs common.sh and initramfs.sh.

# What the KVM probe uses; the tests point these at fakes.
kvm_dev=/dev/kvm
kvm_probe_busybox=/bin/busybox
kvm_probe_timeout=30

# pick_accel VMLINUZ: sets accel to "kvm" only when a quick boot of VMLINUZ proves KVM works here (nested
# KVM can hang at boot, or make QEMU abort: "failed to set MSR 0x10a"), else "tcg", and says on stderr what
# it decided and why. The answer is cached per host kernel and QEMU version in CACHE/kvm-probe (delete it to
# probe again) and still said when it comes from there; XBPF_VM_ACCEL=kvm|tcg forces one. Decides once a run.
pick_accel() {
  [ -z "${accel_reason:-}" ] || return 0
  if [ -n "${XBPF_VM_ACCEL:-}" ]; then
    case $XBPF_VM_ACCEL in kvm | tcg) ;; *) die "XBPF_VM_ACCEL is '$XBPF_VM_ACCEL': kvm or tcg" ;; esac
    accel=$XBPF_VM_ACCEL accel_reason="XBPF_VM_ACCEL=$XBPF_VM_ACCEL"
    log "$accel_reason: using ${accel^^}"
    return 0
  fi
  local f=$cache/kvm-probe version key
  version=$(qemu-system-x86_64 --version) || die "qemu-system-x86_64 --version failed"
  key="$(uname -r) ${version%%$'\n'*}"
  local cached=()
  [ ! -e "$f" ] || mapfile -t cached <"$f"
  if [ "${cached[0]:-}" = "$key" ] && [[ ${cached[1]:-} =~ ^(kvm|tcg)$ ]] && [ -n "${cached[2]:-}" ]; then
    accel=${cached[1]} accel_reason=${cached[2]}
    log "$accel_reason: using ${accel^^} (cached in $f)"
    return 0
  fi
  accel=tcg
  if [ ! -e "$kvm_dev" ]; then
    accel_reason="no $kvm_dev"
  elif [ ! -r "$kvm_dev" ] || [ ! -w "$kvm_dev" ]; then
    accel_reason="$kvm_dev is not readable and writable here"
  else
    kvm_probe "$1"
  fi
  mkdir -p "$cache"
  printf '%s\n' "$key" "$accel" "$accel_reason" >"$f"
  log "$accel_reason: using ${accel^^}"
}

# kvm_probe VMLINUZ: boots VMLINUZ with -accel kvm into a busybox init that prints a marker and powers off;
# sets accel=kvm when that worked (marker seen, QEMU exit 0), and accel_reason to what happened.
kvm_probe() {
  local d=$cache/kvm-probe.d rc=0
  rm -rf "$d"
  mkdir -p "$d/root/bin"
  cp "$kvm_probe_busybox" "$d/root/bin/busybox"
  printf '#!/bin/busybox sh\n/bin/busybox echo xbpf-kvm-ok\n/bin/busybox poweroff -f\n' >"$d/root/init"
  chmod 755 "$d/root/init"
  (cd "$d/root" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$d/initrd" ||
    die "cannot pack the initramfs of the KVM probe"
  # QEMU may abort (exit 134): the subshell keeps its core and bash's "Aborted" line out of the way,
  # and the status is taken, not left to errexit.
  (
    ulimit -c 0
    timeout -k 5 "$kvm_probe_timeout" qemu-system-x86_64 -nodefaults -display none -no-reboot -machine q35 \
      -accel kvm -cpu host -m 256M -kernel "$1" -initrd "$d/initrd" -append "console=ttyS0 panic=-1 quiet" \
      -serial "file:$d/console" </dev/null
    exit $?
  ) >"$d/qemu.log" 2>&1 || rc=$?
  local first
  first=$(sed -n '/[^[:space:]]/{s/^[[:space:]]*//;p;q}' "$d/qemu.log")
  first=${first:0:200}
  if [ "$rc" = 0 ] && grep -q xbpf-kvm-ok "$d/console" 2>/dev/null; then
    accel=kvm accel_reason="KVM works here"
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    accel_reason="KVM unusable here (QEMU did not finish within ${kvm_probe_timeout}s)"
  elif [ "$rc" = 0 ]; then
    accel_reason="KVM unusable here (QEMU exit 0, but the probe's marker is not on the console${first:+: $first})"
  else
    accel_reason="KVM unusable here (QEMU exit $rc${first:+: $first})"
  fi
  rm -rf "$d"
}

# write_suite_env OUT TIMEOUT MODULES_DIR KCONFIG FILES...: the parameters guest/suite.sh reads. MODULES_DIR is
# the kernel's module folder (TREE/lib/modules/KVER, a host path the guest reaches through its 9p root), or
# empty (the host row): the suite passes it to the tests as XBPF_MODULES_DIR (packages/sys/test/modules.ts).
# KCONFIG is the kernel's configuration file (TREE/boot/config-KVER), or empty: the suite puts it in the
# guest's /boot, where a Debian machine has it (kconfig externs read it).
write_suite_env() {
  local out=$1 t=$2 modules=$3 kconfig=$4
  shift 4
  {
    printf 'REPO=%q\nNODE=%q\nTIMEOUT=%q\nXBPF_CI=%q\nMODULES_DIR=%q\nKCONFIG=%q\n' "$repo" "$(command -v node)" "$t" "${CI:+true}" "$modules" "$kconfig"
    printf 'FILES=('
    printf ' %q' "$@"
    printf ' )\n'
  } >"$out/suite.env"
}

# boot_kernel NAME TREE KVER OUT TIMEOUT [TCG_THREADS]: boots and waits; TCG_THREADS=single runs every vCPU on
# one host thread (kernels.conf `tcg-single`; under vng, a single vCPU); writes OUT/vm.env (VM_STATUS=ok|panic|timeout|
# crash, VM_RC, VM_SECONDS). The test output streams to stdout (prefixed with the name) and OUT/output.log,
# the kernel console goes to OUT/console.log.
boot_kernel() {
  local name=$1 tree=$2 kver=$3 out=$4 t=$5 tcg_single=
  [ "${6:-}" = single ] && tcg_single=1
  local vmlinuz=$tree/boot/vmlinuz-$kver
  local start=$SECONDS nonce=
  pick_accel "$vmlinuz"
  rm -f "$out/status" "$out/results.json" "$out/console.log" "$out/output.log" "$out/host.rc"
  if command -v vng >/dev/null && [ -z "${XBPF_VM_NO_VNG:-}" ]; then
    local kvm=() cpus=2
    [ "$accel" = kvm ] || kvm=(--disable-kvm)
    [ "$accel" = kvm ] || [ -z "$tcg_single" ] || cpus=1
    { timeout -k 10 "$t" vng --run "$vmlinuz" --user root --cpus "$cpus" --memory 2G "${kvm[@]}" --force-9p \
      --cwd "$repo" --overlay-rwdir "$repo" --rwdir "$out" --rodir "$cache" \
      --exec "XBPF_EMIT_RESULTS=1 bash $(printf %q "$vm_dir/guest/suite.sh") $(printf %q "$out")" \
      </dev/null 2>"$out/console.log" && echo 0 >"$out/host.rc" || echo $? >"$out/host.rc"; } | sed -u 's/\r$//' | tee "$out/output.log" | sed -u "s/^/[$name] /"
  else
    local initrd=$cache/initramfs/$kver.cpio.gz
    build_initramfs "$tree" "$kver" "$initrd"
    nonce=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
    printf 'REPO=%q\nNONCE=%q\nCACHE=%q\n' "$repo" "$nonce" "$cache" >"$out/boot.env"
    local cpu=(-accel "tcg${tcg_single:+,thread=single}" -cpu max)
    [ "$accel" = kvm ] && cpu=(-accel kvm -cpu host)
    local fs=security_model=none,multidevs=remap
    { timeout -k 10 "$t" qemu-system-x86_64 -nodefaults -display none -no-reboot -machine q35 "${cpu[@]}" \
      -smp 2 -m 2G -kernel "$vmlinuz" -initrd "$initrd" -append "console=ttyS0 panic=-1 quiet ${XBPF_VM_KOPT:-}" \
      -serial "file:$out/console.log" -serial stdio -device virtio-rng-pci \
      -fsdev "local,id=root,path=/,$fs,readonly=on" -device virtio-9p-pci,fsdev=root,mount_tag=xbpf_root \
      -fsdev "local,id=repo,path=$repo,$fs,readonly=on" -device virtio-9p-pci,fsdev=repo,mount_tag=xbpf_repo \
      -fsdev "local,id=out,path=$out,$fs" -device virtio-9p-pci,fsdev=out,mount_tag=xbpf_out \
      </dev/null 2>"$out/qemu.log" && echo 0 >"$out/host.rc" || echo $? >"$out/host.rc"; } | sed -u 's/\r$//' | tee "$out/output.log" | sed -u "s/^/[$name] /"
    sed -i 's/\r$//' "$out/console.log" 2>/dev/null || true
  fi
  local secs=$((SECONDS - start)) status rc host_rc
  host_rc=$(cat "$out/host.rc" 2>/dev/null || echo 1)
  if [ ! -s "$out/results.json" ] && grep -q '^xbpf-results-end$' "$out/output.log" 2>/dev/null; then
    sed -n '/^xbpf-results-begin$/,/^xbpf-results-end$/{//!p}' "$out/output.log" | base64 -d >"$out/results.json" || true
  fi
  if [ -z "${nonce:-}" ] && [ ! -s "$out/status" ] && grep -q '^xbpf-results-end$' "$out/output.log" 2>/dev/null; then
    echo "$host_rc" >"$out/status" # vng passes the guest command's status through
  fi
  if [ -s "$out/status" ]; then
    status=ok rc=$(cat "$out/status")
  elif [ -n "${nonce:-}" ] && rc=$(grep -ao "xbpf-vm-exit: [0-9]* $nonce" "$out/console.log" 2>/dev/null | awk '{print $2}') && [ -n "$rc" ]; then
    status=ok
  elif grep -aqE 'Kernel panic|end Kernel panic' "$out/console.log" "$out/output.log" 2>/dev/null; then
    status=panic rc=1
  elif [ "$host_rc" = 124 ] || [ "$host_rc" = 137 ]; then
    status=timeout rc=1
  else
    status=crash rc=${host_rc:-1}
    [ "$rc" = 0 ] && rc=1
  fi
  if [ "$status" = crash ] && [ -s "$out/qemu.log" ]; then
    log "$name: QEMU exit $host_rc: $(sed -n '/[^[:space:]]/{p;q}' "$out/qemu.log") (qemu.log)"
  fi
  local shown=$accel
  [ "$accel" = tcg ] && [ -n "$tcg_single" ] && shown=tcg,thread=single
  printf 'VM_STATUS=%s\nVM_RC=%s\nVM_SECONDS=%s\nVM_ACCEL=%s\n' "$status" "$rc" "$secs" "$shown" >"$out/vm.env"
}

# run_on_host NAME OUT TIMEOUT: the host row: the same suite, directly on the running kernel.
run_on_host() {
  local name=$1 out=$2 t=$3 start=$SECONDS rc
  rm -f "$out/status" "$out/results.json"
  # The suite's status is in OUT/status: under pipefail its failure must not end the run here.
  { bash "$vm_dir/guest/suite.sh" "$out" </dev/null 2>&1 || true; } | tee "$out/output.log" | sed -u "s/^/[$name] /"
  rc=$(cat "$out/status" 2>/dev/null || echo 1)
  printf 'VM_STATUS=ok\nVM_RC=%s\nVM_SECONDS=%s\nVM_ACCEL=none\n' "$rc" "$((SECONDS - start))" >"$out/vm.env"
}
