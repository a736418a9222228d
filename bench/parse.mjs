// Parse benchmark: open + BTF decode + DATASEC fix-up of each fixture, and decode of the kernel's
// BTF, with @x and with libbpf (bpf_object__open_mem, btf__new), bytes already in memory.
import { readFileSync } from "node:fs";
import { ElfFile } from "../packages/elf/dist/index.js";
import { datasecSourceFromElf, fixupDatasecs, parseBtf } from "../packages/btf/dist/index.js";
import { openObject } from "../packages/loader/dist/index.js";
import { fixtures, libbpf, measure, N, now, ratio, root, table, us } from "./lib.mjs";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const rows = [];

for (const f of fixtures) {
  const path = `${root}fixtures/obj/${f}`;
  const bytes = new Uint8Array(readFileSync(path));
  const ref = libbpf("open", path, N);
  const btfOnly = measure(N, () => {
    const t0 = now();
    const elf = ElfFile.parse(bytes);
    const sec = elf.section(".BTF");
    if (sec) fixupDatasecs(parseBtf(sec.data), datasecSourceFromElf(elf));
    return { t: now() - t0 };
  });
  const open = measure(N, () => {
    const t0 = now();
    openObject(bytes);
    return { t: now() - t0 };
  });
  rows.push([`${f}: ELF + BTF + DATASEC fix-up`, us(btfOnly.t), us(ref.open_us), ratio(btfOnly.t, ref.open_us)]);
  rows.push([`${f}: openObject (whole open)`, us(open.t), us(ref.open_us), ratio(open.t, ref.open_us)]);
}

const vmlinux = new Uint8Array(readFileSync(VMLINUX));
const nv = Math.max(5, Math.round(N / 20));
const ref = libbpf("vmlinux", VMLINUX, nv);
const ours = measure(nv, () => {
  const t0 = now();
  parseBtf(vmlinux);
  return { t: now() - t0 };
});
rows.push([`vmlinux BTF (${(vmlinux.length / 2 ** 20).toFixed(1)} MiB): parseBtf vs btf__new`, us(ours.t), us(ref.open_us), ratio(ours.t, ref.open_us)]);

table(`Parse (median µs; libbpf column: bpf_object__open_mem, or btf__new; N=${N}, vmlinux N=${nv})`, ["case", "@x µs", "libbpf µs", "ratio"], rows);
