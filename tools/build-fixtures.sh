#!/usr/bin/env bash
# Rebuilds every BPF fixture object from fixtures/src with clang-19 (installed from Debian when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/apt.sh
need_cmd clang-19 clang-19
need_pkg libbpf-dev /usr/include/bpf/bpf_helpers.h
mkdir -p fixtures/obj
arch_inc="/usr/include/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)"
for src in fixtures/src/*.bpf.c; do
  obj="fixtures/obj/$(basename "${src%.c}").o"
  clang-19 -O2 -g -target bpf -I"$arch_inc" -c "$src" -o "$obj"
  echo "built $obj"
done
