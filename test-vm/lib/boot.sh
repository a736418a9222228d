# Boots one kernel in QEMU (or through vng when it is on PATH) and runs guest/suite.sh inside.
# Sourced; needs common.sh and initramfs.sh.

# accel: "kvm" only when a quick boot proves KVM works here (nested KVM can hang at boot), else "tcg".
# The answer is cached per host kernel and QEMU version; XBPF_VM_ACCEL=kvm|tcg forces one.
# pick_accel VMLINUZ
pick_accel() {
  if [ -n "${XBPF_VM_ACCEL:-}" ]; then accel=$XBPF_VM_ACCEL; return; fi
  local f=$cache/kvm-probe key
  key="$(uname -r) $(qemu-system-x86_64 --version | head -n1)"
  if [ -e "$f" ] && [ "$(sed -n 1p "$f")" = "$key" ]; then accel=$(sed -n 2p "$f"); return; fi
  accel=tcg
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    local d
    d=$(mktemp -d)
    mkdir -p "$d/root/bin"
    cp /bin/busybox "$d/root/bin/busybox"
    printf '#!/bin/busybox sh\n/bin/busybox echo xbpf-kvm-ok\n/bin/busybox poweroff -f\n' >"$d/root/init"
    chmod 755 "$d/root/init"
    (cd "$d/root" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$d/initrd"
    (timeout -k 5 30 qemu-system-x86_64 -nodefaults -display none -no-reboot -machine q35 -accel kvm -cpu host \
      -m 256M -kernel "$1" -initrd "$d/initrd" -append "console=ttyS0 panic=-1 quiet" -serial "file:$d/log" \
      </dev/null; :) >/dev/null 2>&1
    grep -q xbpf-kvm-ok "$d/log" 2>/dev/null && accel=kvm
    rm -rf "$d"
  fi
  mkdir -p "$cache" && printf '%s\n%s\n' "$key" "$accel" >"$f"
  log "KVM probe: using $accel"
}

# write_suite_env OUT TIMEOUT FILES...: the parameters guest/suite.sh reads.
write_suite_env() {
  local out=$1 t=$2
  shift 2
  {
    printf 'REPO=%q\nNODE=%q\nTIMEOUT=%q\nXBPF_CI=%q\n' "$repo" "$(command -v node)" "$t" "${CI:+true}"
    printf 'FILES=('
    printf ' %q' "$@"
    printf ' )\n'
  } >"$out/suite.env"
}

# boot_kernel NAME TREE KVER OUT TIMEOUT: boots and waits; writes OUT/vm.env (VM_STATUS=ok|panic|timeout|
# crash, VM_RC, VM_SECONDS). The test output streams to stdout (prefixed with the name) and OUT/output.log,
# the kernel console goes to OUT/console.log.
boot_kernel() {
  local name=$1 tree=$2 kver=$3 out=$4 t=$5
  local vmlinuz=$tree/boot/vmlinuz-$kver
  local start=$SECONDS nonce=
  pick_accel "$vmlinuz"
  rm -f "$out/status" "$out/results.json" "$out/console.log" "$out/output.log" "$out/host.rc"
  if command -v vng >/dev/null && [ -z "${XBPF_VM_NO_VNG:-}" ]; then
    local kvm=()
    [ "$accel" = kvm ] || kvm=(--disable-kvm)
    { timeout -k 10 "$t" vng --run "$vmlinuz" --user root --cpus 2 --memory 2G "${kvm[@]}" --force-9p \
      --cwd "$repo" --overlay-rwdir "$repo" --rwdir "$out" \
      --exec "XBPF_EMIT_RESULTS=1 bash $(printf %q "$vm_dir/guest/suite.sh") $(printf %q "$out")" \
      </dev/null 2>"$out/console.log" && echo 0 >"$out/host.rc" || echo $? >"$out/host.rc"; } | sed -u 's/\r$//' | tee "$out/output.log" | sed -u "s/^/[$name] /"
  else
    local initrd=$cache/initramfs/$kver.cpio.gz
    build_initramfs "$tree" "$kver" "$initrd"
    nonce=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
    printf 'REPO=%q\nNONCE=%q\n' "$repo" "$nonce" >"$out/boot.env"
    local cpu=(-accel tcg -cpu max)
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
  printf 'VM_STATUS=%s\nVM_RC=%s\nVM_SECONDS=%s\nVM_ACCEL=%s\n' "$status" "$rc" "$secs" "$accel" >"$out/vm.env"
}

# run_on_host NAME OUT TIMEOUT: the host row: the same suite, directly on the running kernel.
run_on_host() {
  local name=$1 out=$2 t=$3 start=$SECONDS rc
  rm -f "$out/status" "$out/results.json"
  bash "$vm_dir/guest/suite.sh" "$out" </dev/null 2>&1 | tee "$out/output.log" | sed -u "s/^/[$name] /"
  rc=$(cat "$out/status" 2>/dev/null || echo 1)
  printf 'VM_STATUS=ok\nVM_RC=%s\nVM_SECONDS=%s\nVM_ACCEL=none\n' "$rc" "$((SECONDS - start))" >"$out/vm.env"
}
