// Parse benchmark: open + BTF decode + DATASEC fix-up of each fixture, and the kernel's BTF (opened
// lazily, a first lookup, one struct decoded; and decoded in full), with @x and with libbpf
// (bpf_object__open_mem, btf__new), bytes already in memory.
import { readFileSync } from "node:fs";
import { ElfFile } from "../packages/elf/dist/index.js";
import { datasecSourceFromElf, fixupDatasecs, parseBtf } from "../packages/btf/dist/index.js";
import { openObject } from "../packages/loader/dist/index.js";
import { fixtures, libbpf, measure, N, now, ratio, root, table, tryLibbpf, us } from "./lib.mjs";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const rows = [];
const incomparable = [];

for (const f of fixtures) {
  const path = `${root}fixtures/obj/${f}`;
  const bytes = new Uint8Array(readFileSync(path));
  const { ref, why } = tryLibbpf("open", path, N);
  if (!ref) {
    incomparable.push(`${f} (${why})`);
    continue;
  }
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
const mib = (vmlinux.length / 2 ** 20).toFixed(1);
const nv = Math.max(5, Math.round(N / 20));
const ref = libbpf("vmlinux", VMLINUX, nv);
// The full decode (the eager parser) and the lazy open, alternating in one loop.
const full = measure(nv, () => {
  let t0 = now();
  parseBtf(vmlinux);
  const eager = now() - t0;
  t0 = now();
  parseBtf(vmlinux, { lazy: true });
  return { eager, lazy: now() - t0 };
});
// What a load pays on first use of the kernel's BTF, each on a freshly opened lazy vmlinux: the open,
// the first lookup (indexing the names of the kind asked for, or of every kind), the decode of one struct.
const nl = Math.max(5, Math.round(N / 4));
let members = 0;
const lazy = measure(nl, () => {
  let t0 = now();
  let b = parseBtf(vmlinux, { lazy: true });
  const open = now() - t0;
  t0 = now();
  const [task] = b.idsByName("task_struct", "STRUCT");
  const struct = now() - t0;
  t0 = now();
  members = b.type(task).members.length;
  const decode = now() - t0;
  b = parseBtf(vmlinux, { lazy: true });
  t0 = now();
  b.idsByName("schedule", "FUNC");
  const func = now() - t0;
  b = parseBtf(vmlinux, { lazy: true });
  t0 = now();
  b.idsByName("task_struct");
  const any = now() - t0;
  return { open, struct, decode, func, any };
});
const v = `vmlinux BTF (${mib} MiB)`;
rows.push([`${v}: lazy open, parseBtf(…, { lazy: true }) vs btf__new`, us(lazy.open), us(ref.open_us), ratio(lazy.open, ref.open_us)]);
rows.push([`${v}: full decode, parseBtf vs btf__new`, us(full.eager), us(ref.open_us), ratio(full.eager, ref.open_us)]);
rows.push([`${v}: lazy open, alternating with the full decode`, us(full.lazy), us(ref.open_us), ratio(full.lazy, ref.open_us)]);
rows.push([`${v}: first lookup, idsByName("task_struct", "STRUCT")`, us(lazy.struct), "–", "–"]);
rows.push([`${v}: first lookup, idsByName("schedule", "FUNC")`, us(lazy.func), "–", "–"]);
rows.push([`${v}: first lookup, idsByName("task_struct") (every kind)`, us(lazy.any), "–", "–"]);
rows.push([`${v}: decode one struct, type(task_struct) (${members} members)`, us(lazy.decode), "–", "–"]);

table(`Parse (median µs; libbpf column: bpf_object__open_mem, or btf__new; N=${N}, vmlinux N=${nv}, lazy vmlinux N=${nl})`, ["case", "@x µs", "libbpf µs", "ratio"], rows);
if (incomparable.length) console.log(`\nno libbpf figure (the reference cannot open them): ${incomparable.join("; ")}`);
