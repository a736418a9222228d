#!/usr/bin/env bash
# @x beside libbpf, measured in the same run: `npm run bench` (all), or `bash bench/run.sh parse load scale template replace loader-program map-ops startup memory`.
# BENCH_N sets the base iteration count (default 2000; see bench/README.md). Needs root (bpf(2)).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then echo "bench: needs root (bpf(2), BPF_PROG_TEST_RUN)" >&2; exit 1; fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
bash tools/setup.sh # builds packages/*/dist, which the bench scripts import; installs gcc/clang-19/libbpf-dev if missing

mkdir -p bench/out
harness=bench/out/libbpf-bench
if [ ! -x "$harness" ] || [ bench/c/libbpf-bench.c -nt "$harness" ] || [ bench/c/bench-util.h -nt "$harness" ]; then
  gcc -O2 -Wall -rdynamic -o "$harness" bench/c/libbpf-bench.c -lbpf -ldl
fi
if [ ! -x bench/out/libbpf-replace ] || [ bench/c/libbpf-replace.c -nt bench/out/libbpf-replace ] || [ bench/c/bench-util.h -nt bench/out/libbpf-replace ]; then
  gcc -O2 -Wall -o bench/out/libbpf-replace bench/c/libbpf-replace.c -lbpf
fi

if [ ! -x bench/out/libbpf-rss ] || [ bench/c/libbpf-rss.c -nt bench/out/libbpf-rss ] || [ bench/c/bench-util.h -nt bench/out/libbpf-rss ]; then
  gcc -O2 -Wall -Wno-unused-function -o bench/out/libbpf-rss bench/c/libbpf-rss.c -lbpf
fi
if [ ! -x bench/out/libbpf-mapops ] || [ bench/c/libbpf-mapops.c -nt bench/out/libbpf-mapops ] || [ bench/c/bench-util.h -nt bench/out/libbpf-mapops ]; then
  gcc -O2 -Wall -Wno-unused-function -o bench/out/libbpf-mapops bench/c/libbpf-mapops.c -lbpf
fi

export BENCH_N="${BENCH_N:-2000}"
benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(parse load scale template replace loader-program map-ops startup memory)

echo "# @x vs libbpf — $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "kernel $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), node $(node --version)," \
  "libbpf $(dpkg-query -W -f='${Version}' libbpf1 2>/dev/null || echo '?'), $(clang-19 --version | head -1), BENCH_N=$BENCH_N"
echo "ratio = @x / reference: below 1.00× @x is faster."
for b in "${benches[@]}"; do
  [ -f "bench/$b.mjs" ] || { echo "bench: no benchmark '$b' (parse, load, scale, template, replace, loader-program, map-ops, startup, memory)" >&2; exit 2; }
  node "bench/$b.mjs"
done
