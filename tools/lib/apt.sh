# Helpers to install Debian packages on demand (root only; the registry comes from the machine's apt sources).
_apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ]; then echo "error: need root to install: $*" >&2; return 1; fi
  if [ "$_apt_updated" = 0 ]; then apt-get update -qq >/dev/null; _apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
# need_cmd COMMAND PACKAGE: install PACKAGE when COMMAND is missing.
need_cmd() { command -v "$1" >/dev/null 2>&1 || apt_install "$2"; }
# need_pkg PACKAGE FILE: install PACKAGE when FILE is missing.
need_pkg() { [ -e "$2" ] || apt_install "$1"; }
