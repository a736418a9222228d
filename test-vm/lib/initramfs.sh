# Builds the minimal initramfs of one kernel: busybox-static, the modules the guest needs to reach its
# shares (resolved with modprobe --show-depends against the kernel tree, never a fixed list: 6.1 needs
# netfs/fscache/virtio_pci_modern_dev, 5.10 none of those), and guest/init. Sourced; needs common.sh.

# Modules for virtio-pci, 9p over virtio, overlayfs and the virtio RNG (Node may block on entropy).
initramfs_modules=(virtio_pci 9pnet_virtio 9p overlay virtio_rng)

# build_initramfs TREE KVER OUT: writes a gzip'd newc cpio to OUT (cached while its inputs are unchanged).
build_initramfs() {
  local tree=$1 kver=$2 out=$3
  local key
  key=$(cat "$vm_dir/guest/init" "$vm_dir/lib/initramfs.sh" /bin/busybox "$tree/.complete" | sha256sum | cut -c1-16) ||
    die "cannot read the inputs of the initramfs of $kver (above)"
  if [ -e "$out" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$key" ]; then return 0; fi
  local stage
  stage=$(mktemp -d)
  mkdir -p "$stage"/{bin,dev,proc,sys,modules}
  cp /bin/busybox "$stage/bin/busybox"
  cp "$vm_dir/guest/init" "$stage/init" && chmod 755 "$stage/init"
  local deps
  deps=$(modprobe --show-depends -C /dev/null -d "$tree" -S "$kver" -a "${initramfs_modules[@]}") ||
    die "modprobe --show-depends failed for $kver"
  local mods
  mods=$(node "$vm_dir/lib/modules.mjs" <<<"$deps") || die "lib/modules.mjs could not read modprobe's answer for $kver"
  local m n=0 name
  while read -r m; do
    [ -n "$m" ] || continue
    n=$((n + 1))
    name=$(printf '%02d-%s' "$n" "$(basename "$m")")
    case $m in
    *.xz) name=${name%.xz} && xz -dc "$m" >"$stage/modules/$name" || die "cannot decompress $m" ;;
    *.zst) name=${name%.zst} && zstd -qdc "$m" >"$stage/modules/$name" || die "cannot decompress $m" ;;
    *) cp "$m" "$stage/modules/$name" || die "cannot copy $m" ;;
    esac
    echo "$name" >>"$stage/modules/order"
  done <<<"$mods"
  touch "$stage/modules/order"
  mkdir -p "$(dirname "$out")"
  (cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$out.tmp" ||
    die "cannot pack the initramfs of $kver"
  rm -rf "$stage"
  mv "$out.tmp" "$out" && echo "$key" >"$out.key"
}
