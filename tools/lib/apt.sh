# Helpers to install Debian packages on demand (root only; the registry comes from the machine's apt sources).
# Each install says on one stderr line what it installs and why; apt's own output is shown only when it fails.
# The functions check every status themselves, so they behave the same with or without errexit.
_apt_updated=0

# apt_install [--why REASON] PACKAGE…
apt_install() {
  local why=
  if [ "${1:-}" = --why ]; then
    why=" ($2)"
    shift 2
  fi
  echo "apt: installing $*$why" >&2
  if [ "$(id -u)" != 0 ]; then
    echo "apt: error: need root to install $*" >&2
    return 1
  fi
  local log rc=0
  log=$(mktemp) || return 1
  if [ "$_apt_updated" = 0 ]; then
    apt-get update -q >"$log" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
      cat "$log" >&2
      rm -f "$log"
      echo "apt: error: apt-get update failed (exit $rc; its output is above)" >&2
      return 1
    fi
    _apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$log" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    cat "$log" >&2
    rm -f "$log"
    echo "apt: error: apt-get install $* failed (exit $rc; its output is above)" >&2
    return 1
  fi
  rm -f "$log"
}
# need_cmd COMMAND PACKAGE: install PACKAGE when COMMAND is missing.
need_cmd() { command -v "$1" >/dev/null 2>&1 || apt_install --why "no $1 on PATH" "$2"; }
# need_pkg PACKAGE FILE: install PACKAGE when FILE is missing.
need_pkg() { [ -e "$2" ] || apt_install --why "no $2" "$1"; }
