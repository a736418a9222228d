# Fetches a Debian kernel without installing it: a private apt configuration per suite, `apt-get download`,
# `dpkg-deb -x` into test-vm/.cache/kernels/PACKAGE_VERSION, then .ko.xz decompressed and depmod run so the
# same tree boots with our runner and with `vng --run TREE/boot/vmlinuz-KVER`.
# Sourced; needs common.sh. fetch_kernel sets K_TREE, K_VER (uname -r), K_PKG, K_DEBVER.
# Every step that can fail either dies saying why or checks its result: run.sh runs fetch_kernel through
# run_step (errexit in force), and a missing answer must never turn into an empty variable further on.

keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# apt_opts SUITE: the options of the private apt configuration of SUITE (host apt state untouched).
apt_opts() {
  local d=$cache/apt/$1
  opts=(-o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" -o "Dir::State::extended_states=$d/extended_states"
    -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o Acquire::Languages=none -o Debug::NoLocking=1)
  [ -e "$d/insecure" ] && opts+=(-o APT::Get::AllowUnauthenticated=true -o Acquire::AllowInsecureRepositories=true)
  return 0
}

# suite_update SUITE: writes the private sources.list and refreshes its lists when missing or older than
# XBPF_VM_APT_MAX_AGE seconds (default one day); an offline machine goes on with the lists it has.
suite_update() {
  local suite=$1 d=$cache/apt/$1
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
  local mirror=${XBPF_VM_MIRROR:-}
  if [ -z "$mirror" ]; then
    mirror=$(node "$vm_dir/lib/apt-sources.mjs") || die "no Debian mirror in this machine's apt sources (set XBPF_VM_MIRROR)"
  fi
  if [ -r "$keyring" ]; then
    echo "deb [signed-by=$keyring] $mirror $suite main" >"$d/sources.list"
    rm -f "$d/insecure"
  else
    echo "deb [trusted=yes] $mirror $suite main" >"$d/sources.list"
    touch "$d/insecure"
  fi
  local stamp=$d/updated max=${XBPF_VM_APT_MAX_AGE:-86400}
  if [ -e "$stamp" ] && [ $(($(date +%s) - $(stat -c %Y "$stamp"))) -lt "$max" ]; then return 0; fi
  apt_opts "$suite"
  if apt-get -qq "${opts[@]}" update >"$d/update.log" 2>&1; then
    touch "$stamp"
  elif compgen -G "$d/lists/*_Packages*" >/dev/null; then
    log "apt-get update for $suite failed (see $d/update.log); using the lists from $(date -r "$d/lists" +%F)"
  else
    cat "$d/update.log" >&2
    die "apt-get update for $suite failed"
  fi
}

# resolve_kernel SUITE WHAT: prints "PACKAGE VERSION" of the newest generic -amd64 image of SUITE whose
# kernel version starts with WHAT ("newest": any). Cloud, rt, dbg and unsigned flavours are left out.
resolve_kernel() {
  local suite=$1 what=$2 prefix=
  [ "$what" = newest ] || prefix=${what//./\\.}[.-]
  apt_opts "$suite"
  local found pkg
  found=$(apt-cache "${opts[@]}" --names-only search "^linux-image-${prefix}") || die "apt-cache search failed in $suite"
  # One awk for the filtering: no grep that fails on no match in the pipeline (pipefail), no early exit.
  pkg=$(awk '$1 ~ /^linux-image-[0-9][0-9a-z.+~-]*-amd64$/ && $1 !~ /-(cloud|rt)-amd64$/ { print $1 }' <<<"$found" |
    sort -V | tail -n1)
  [ -n "$pkg" ] || die "no generic amd64 kernel image matching '$what' in $suite"
  local info ver
  info=$(apt-cache "${opts[@]}" show --no-all-versions "$pkg") || die "apt-cache show $pkg failed in $suite"
  ver=$(awk '/^Version: / { print $2; exit }' <<<"$info")
  [ -n "$ver" ] || die "apt-cache show $pkg in $suite gives no Version"
  echo "$pkg $ver"
}

# kernel_packages SUITE PACKAGE: the image package plus the split-out binary/modules/base packages it
# depends on (newer Debian kernels ship vmlinuz in linux-binary-* and modules in linux-modules-*).
kernel_packages() {
  local suite=$1 pkg=$2 kver=${2#linux-image-}
  apt_opts "$suite"
  local info
  info=$(apt-cache "${opts[@]}" show --no-all-versions "$pkg") || die "apt-cache show $pkg failed in $suite"
  echo "$pkg"
  # Dependencies one per line, kept when they are one of the split packages (none for older kernels).
  sed -n 's/^Depends: //p' <<<"$info" | tr ',|' '\n\n' |
    awk -v b="linux-binary-$kver" -v m="linux-modules-$kver" -v s="linux-base-$kver" '$1 == b || $1 == m || $1 == s { print $1 }'

}

# fetch_kernel SUITE WHAT: makes sure the tree is in the cache; sets K_TREE K_VER K_PKG K_DEBVER.
fetch_kernel() {
  local suite=$1 what=$2
  suite_update "$suite"
  local resolved
  # Not `read … < <(resolve_kernel …)`: a process substitution's failure is ignored and read would leave
  # K_PKG empty. resolve_kernel has already said why when it fails.
  resolved=$(resolve_kernel "$suite" "$what") || exit 1
  read -r K_PKG K_DEBVER <<<"$resolved"
  [ -n "$K_PKG" ] && [ -n "$K_DEBVER" ] || die "resolve_kernel $suite $what gave '$resolved', not PACKAGE VERSION"
  K_TREE=$cache/kernels/${K_PKG}_${K_DEBVER}
  if [ ! -e "$K_TREE/.complete" ]; then
    log "fetching $K_PKG $K_DEBVER ($suite)"
    local tmp=$K_TREE.tmp
    rm -rf "$tmp" && mkdir -p "$tmp/debs" "$tmp/root"
    apt_opts "$suite"
    local p list pkgs=()
    list=$(kernel_packages "$suite" "$K_PKG") || exit 1
    for p in $list; do pkgs+=("$p=$K_DEBVER"); done
    (cd "$tmp/debs" && apt-get -q "${opts[@]}" download "${pkgs[@]}" >"$tmp/download.log" 2>&1) ||
      { cat "$tmp/download.log" >&2; die "apt-get download ${pkgs[*]} failed"; }
    for p in "${pkgs[@]}"; do
      compgen -G "$tmp/debs/${p%%=*}_*.deb" >/dev/null || die "apt-get download gave no .deb for $p (see $tmp/download.log)"
    done
    for p in "$tmp"/debs/*.deb; do dpkg-deb -x "$p" "$tmp/root" || die "dpkg-deb -x $p failed"; done
    prepare_tree "$tmp/root"
    rm -rf "$K_TREE" && mv "$tmp/root" "$K_TREE" && rm -rf "$tmp"
    printf '%s\n' "package=$K_PKG" "version=$K_DEBVER" "suite=$suite" >"$K_TREE/.complete"
  fi
  touch "$K_TREE/.complete" # last use, for the cache pruning in run.sh
  K_VER=$(tree_kver "$K_TREE")
  [ -n "$K_VER" ] || die "no lib/modules/KVER in $K_TREE (delete it to fetch it again)"
}

# tree_kconfig TREE KVER: the kernel's configuration file in an unpacked tree: boot/config-KVER, or where
# newer Debian kernels ship it, lib/modules/KVER/config; empty when the packages have none.
tree_kconfig() {
  local f
  for f in "$1/boot/config-$2" "$1/lib/modules/$2/config"; do
    if [ -e "$f" ]; then
      echo "$f"
      return 0
    fi
  done
  return 0
}

# tree_kver TREE: the kernel release (uname -r) of an unpacked tree; empty when it has none.
tree_kver() {
  local d
  for d in "$1"/lib/modules/*/; do
    if [ -d "$d" ]; then
      basename "$d"
      return 0
    fi
  done
}

# prepare_tree ROOT: normalise an unpacked kernel tree: lib/modules reachable (usr-merged packages ship
# usr/lib/modules), boot/vmlinuz-KVER present, modules uncompressed (busybox insmod and vng's initramfs
# take plain .ko files), modules.dep written.
prepare_tree() {
  local root=$1
  if [ ! -e "$root/lib/modules" ] && [ -d "$root/usr/lib/modules" ]; then
    [ -e "$root/lib" ] && die "unexpected layout in $root: lib without lib/modules"
    ln -s usr/lib "$root/lib"
  fi
  local kver
  kver=$(tree_kver "$root")
  [ -n "$kver" ] || die "no lib/modules/KVER in the kernel packages"
  mkdir -p "$root/boot"
  if [ ! -e "$root/boot/vmlinuz-$kver" ]; then
    [ -e "$root/lib/modules/$kver/vmlinuz" ] || die "no vmlinuz in the kernel packages"
    ln "$root/lib/modules/$kver/vmlinuz" "$root/boot/vmlinuz-$kver"
  fi
  find "$root/lib/modules/$kver/" -name '*.ko.xz' -print0 | xargs -0 -r -n 64 -P "$(nproc)" xz -d
  find "$root/lib/modules/$kver/" -name '*.ko.zst' -print0 | xargs -0 -r -n 64 -P "$(nproc)" zstd -q -d --rm
  depmod -b "$root" "$kver"
}
