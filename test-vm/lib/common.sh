# Shared paths and helpers of the VM runner (sourced by run.sh and the lib/*.sh scripts).
vm_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
repo=$(dirname "$vm_dir")
# Kernels, apt lists and initramfs images are large and the same for every checkout: keep them per
# machine, so a fresh clone (CI) does not fetch them again. Run results stay with the checkout.
cache=${XBPF_VM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/xbpf-test-vm}
runs=${XBPF_VM_RUNS:-$vm_dir/.cache/runs}

log() { echo "test-vm: $*" >&2; }
die() { echo "test-vm: error: $*" >&2; exit 1; }

# Installs the Debian tools the runner needs when they are missing (root; apt sources of this machine).
ensure_tools() {
  source "$repo/tools/lib/apt.sh"
  need_cmd qemu-system-x86_64 qemu-system-x86
  need_pkg busybox-static /bin/busybox
  file -L /bin/busybox | grep -q 'statically linked' || apt_install busybox-static
  need_cmd depmod kmod
  need_cmd cpio cpio
  need_cmd xz xz-utils
  need_cmd zstd zstd
  need_cmd dpkg-deb dpkg
  need_cmd file file
}
