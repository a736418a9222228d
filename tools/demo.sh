#!/usr/bin/env bash
# The main job end to end: load the shipped example template with a config override,
# run it on a UDP packet to port 8080, and print its globals.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
xbpf=node_modules/.bin/xbpf
if [ ! -x "$xbpf" ]; then
  echo "demo: $xbpf is missing after setup: pnpm did not link the @x/cli bin (packages/cli/bin/xbpf.cjs)" >&2
  exit 1
fi
# Ethernet (IPv4) + IPv4 (UDP) + UDP header to port 8080, 14 + 20 + 8 bytes.
packet=ffffffffffff00000000000108004500001c0000400040110000c0a80001c0a80002303a1f9000080000
exec "$xbpf" run fixtures/obj/example.bpf.o classify \
  --set cfg.blocked_port=8080 --set label=demo-run --data "$packet" "$@"
