#!/usr/bin/env bash
# Installs what tools/core-reloc-cases.mjs needs when it is missing (Debian packages, as root: the kernel
# source tarball, clang-19, gcc, libbpf-dev, bpftool, python3, xz-utils), then runs it with the same arguments.
# The kernel's CO-RE selftest cases end up in ${XDG_CACHE_HOME:-~/.cache}/xbpf-core-reloc/ (see tools/core-reloc-cases.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/apt.sh
need_pkg linux-source-6.12 /usr/src/linux-source-6.12.tar.xz
need_cmd clang-19 clang-19
need_cmd gcc gcc
need_cmd bpftool bpftool
need_cmd python3 python3
need_cmd xz xz-utils
need_pkg libbpf-dev /usr/include/bpf/btf.h
exec node tools/core-reloc-cases.mjs "$@"
