#!/usr/bin/env bash
# `npm run corpus`: brings the tree up (tools/setup.sh: pnpm, dependencies, a build), builds the kernel's BPF
# selftests and libbpf of the same source (tools/selftests-corpus.sh, cached), then loads the whole corpus
# with @x and with libbpf (tools/corpus.mjs).
# Arguments go to tools/corpus.mjs (--only NAME,…, --json FILE). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
bash tools/selftests-corpus.sh
exec node tools/corpus.mjs "$@"
