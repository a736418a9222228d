#!/usr/bin/env bash
# Installs what tools/selftests-corpus.mjs needs when it is missing (Debian packages, as root: the kernel
# source tarball, clang-19, gcc, bpftool, python3, xz-utils, libelf and zlib headers for libbpf), then
# runs it with the same arguments. The build lands in ${XDG_CACHE_HOME:-~/.cache}/xbpf-selftests/.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/apt.sh
need_pkg linux-source-6.12 /usr/src/linux-source-6.12.tar.xz
need_cmd clang-19 clang-19
need_cmd gcc gcc
need_cmd bpftool bpftool
need_cmd python3 python3
need_cmd xz xz-utils
need_pkg libelf-dev /usr/include/libelf.h
need_pkg zlib1g-dev /usr/include/zlib.h
exec node tools/selftests-corpus.mjs "$@"
