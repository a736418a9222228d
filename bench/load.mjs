// Load benchmark: each fixture opened, loaded and closed N times in-process, with @x
// (openObject → spec.load() → dispose()) and with libbpf (open_mem → load → close).
// Time inside bpf(2) is counted on both sides, so the user-space share can be compared.
import { readFileSync } from "node:fs";
import { openObject } from "../packages/loader/dist/index.js";
import { enableSyscallTiming, resetSyscallStats, syscallStats } from "../packages/sys/dist/syscall.js";
import { fixtures, measure, N, now, ratio, root, table, tryLibbpf, us } from "./lib.mjs";

const phases = [];
const totals = [];
const skipped = [];
const fewer = [];

for (const f of fixtures) {
  const path = `${root}fixtures/obj/${f}`;
  const bytes = new Uint8Array(readFileSync(path));
  // Objects that pin maps (state outside the process) or that the kernel rejects are not load cases.
  let spec;
  let trial = 0;
  try {
    spec = openObject(bytes);
    if (spec.maps.some((m) => m.pinning)) throw new Error("pins maps by name");
    spec.load().dispose(); // the first load fills the process-wide caches (kernel symbols, probes)
    const t0 = now();
    spec.load().dispose();
    trial = (now() - t0) / 1e6;
  } catch (e) {
    skipped.push(`${f} (${e.message.split("\n")[0].slice(0, 80)})`);
    continue;
  }
  // Loads the kernel makes slow (a map of maps waits for RCU when its inner-map template is freed: ~40 ms)
  // run fewer times, so the whole benchmark stays within minutes; the table says how many.
  const n = trial > 5 ? Math.max(50, Math.round((N * 5) / trial)) : N;
  if (n !== N) fewer.push(`${f}: N=${n}`);
  const { ref, why } = tryLibbpf("load", path, n);
  if (!ref) {
    skipped.push(`${f} (${why})`);
    continue;
  }
  let calls = 0;
  enableSyscallTiming(true);
  const x = measure(n, () => {
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

const counts = fewer.length ? `N=${N}; ${fewer.join(", ")}` : `N=${N}`;
table(`Load: phases (median µs, ${counts})`, ["object", "@x open", "@x load", "@x close", "libbpf open", "libbpf load", "libbpf close"], phases);
table(
  `Load: open + load + close, and its user-space share (median µs, ${counts}; in bpf(2): µs (calls per load))`,
  ["object", "@x µs", "libbpf µs", "ratio", "@x in bpf(2)", "libbpf in bpf(2)", "@x user", "libbpf user", "user ratio"],
  totals,
);
if (skipped.length) console.log(`\nnot load cases: ${skipped.join("; ")}`);
