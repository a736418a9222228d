// Load benchmark: each fixture opened, loaded and closed N times in-process, with @x
// (openObject → spec.load() → dispose()) and with libbpf (open_mem → load → close).
// Time inside bpf(2) is counted on both sides, so the user-space share can be compared.
import { readFileSync } from "node:fs";
import { openObject } from "../packages/loader/dist/index.js";
import { enableSyscallTiming, resetSyscallStats, syscallStats } from "../packages/sys/dist/syscall.js";
import { fixtures, libbpf, measure, N, now, ratio, root, table, us } from "./lib.mjs";

const phases = [];
const totals = [];
const skipped = [];

for (const f of fixtures) {
  const path = `${root}fixtures/obj/${f}`;
  const bytes = new Uint8Array(readFileSync(path));
  // Objects that pin maps (state outside the process) or that the kernel rejects are not load cases.
  let spec;
  try {
    spec = openObject(bytes);
    if (spec.maps.some((m) => m.pinning)) throw new Error("pins maps by name");
    spec.load().dispose();
  } catch (e) {
    skipped.push(`${f} (${e.message.split("\n")[0].slice(0, 80)})`);
    continue;
  }
  const ref = libbpf("load", path, N);
  let calls = 0;
  enableSyscallTiming(true);
  const x = measure(N, () => {
    const t0 = now();
    const s = openObject(bytes);
    const t1 = now();
    resetSyscallStats();
    const loaded = s.load();
    const t2 = now();
    const st = syscallStats();
    loaded.dispose();
    const t3 = now();
    calls = st.calls;
    const bpf = Number(st.ns);
    return { open: t1 - t0, load: t2 - t1, close: t3 - t2, total: t3 - t0, bpf, user: t3 - t0 - bpf };
  });
  enableSyscallTiming(false);
  phases.push([f, us(x.open), us(x.load), us(x.close), us(ref.open_us), us(ref.load_us), us(ref.close_us)]);
  totals.push([
    f, us(x.total), us(ref.total_us), ratio(x.total, ref.total_us),
    `${us(x.bpf)} (${calls})`, `${us(ref.bpf_us)} (${ref.bpf_calls})`,
    us(x.user), us(ref.user_us), ratio(x.user, ref.user_us),
  ]);
}

table(`Load: phases (median µs, N=${N})`, ["object", "@x open", "@x load", "@x close", "libbpf open", "libbpf load", "libbpf close"], phases);
table(
  `Load: open + load + close, and its user-space share (median µs, N=${N}; in bpf(2): µs (calls per load))`,
  ["object", "@x µs", "libbpf µs", "ratio", "@x in bpf(2)", "libbpf in bpf(2)", "@x user", "libbpf user", "user ratio"],
  totals,
);
if (skipped.length) console.log(`\nnot load cases: ${skipped.join("; ")}`);
