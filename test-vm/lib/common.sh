# Shared paths and helpers of the VM runner (sourced by run.sh and the lib/*.sh scripts).
vm_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
repo=$(dirname "$vm_dir")
# Kernels, apt lists and initramfs images are large and the same for every checkout: keep them per
# machine, so a fresh clone (CI) does not fetch them again. Run results stay with the checkout.
cache=${XBPF_VM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/xbpf-test-vm}
runs=${XBPF_VM_RUNS:-$vm_dir/.cache/runs}

log() { echo "test-vm: $*" >&2; }
die() { echo "test-vm: error: $*" >&2; exit 1; }

# run_step VAR CMD [ARG…]: runs CMD in a subshell with errexit in force and sets VAR to its exit status,
# so that a step may fail without ending the run but never fails unnoticed. (`if ! (CMD)` or `(CMD) || …`
# would switch errexit off inside CMD: a failing command there would be ignored and CMD would go on.)
# A command that fails without saying why through die is named on stderr. Call run_step as a plain
# statement, never as a condition or in a && / || list, for the same reason.
run_step() {
  local var=$1 errexit=
  shift
  case $- in *e*) errexit=1 ;; esac
  set +e
  (
    set -eE
    trap 'log "error: \`$BASH_COMMAND\` failed (exit $?)"' ERR
    "$@"
  )
  printf -v "$var" %d $?
  [ -z "$errexit" ] || set -e
}

# Installs the Debian tools the runner needs when they are missing (root; apt sources of this machine).
ensure_tools() {
  source "$repo/tools/lib/apt.sh"
  need_cmd file file
  need_cmd qemu-system-x86_64 qemu-system-x86
  need_pkg busybox-static /bin/busybox
  case $(file -L /bin/busybox) in
  *'statically linked'*) ;;
  *) apt_install --why "/bin/busybox is not statically linked" busybox-static ;;
  esac
  need_cmd depmod kmod
  need_cmd cpio cpio
  need_cmd xz xz-utils
  need_cmd zstd zstd
  need_cmd dpkg-deb dpkg
}
