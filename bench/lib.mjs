// Shared helpers for the bench scripts: iteration counts, timing loops, the libbpf harness, tables.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));
const harness = `${root}bench/out/libbpf-bench`;

/** Base iteration count; each benchmark scales it (BENCH_N overrides the default). */
export const N = Number(process.env.BENCH_N ?? 2000);
if (!(N >= 1)) throw new Error(`BENCH_N must be a positive number (got ${process.env.BENCH_N})`);

/** The fixture objects, by file name. */
export const fixtures = readdirSync(`${root}fixtures/obj`).filter((f) => f.endsWith(".bpf.o")).sort();

/** Untimed warm-up iterations before `n` measured ones (the C harness uses the same rule). */
export const warmup = (n) => Math.max(3, Math.floor(n / 10));

/** The median of `xs` (the mean of the middle two for an even count). */
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Run `iteration` warm-up + n times. It returns an object of phase → nanoseconds (numbers);
 * the result is the median of each phase in microseconds.
 */
export function measure(n, iteration) {
  for (let i = 0; i < warmup(n); i++) iteration();
  const samples = {};
  for (let i = 0; i < n; i++) {
    for (const [k, v] of Object.entries(iteration())) (samples[k] ??= []).push(v);
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v) / 1000]));
}

/** Nanoseconds since an arbitrary origin, as a number. */
export const now = () => Number(process.hrtime.bigint());

/** Run the C harness: `mode file n` → its JSON line (medians in µs). */
export function libbpf(mode, file, n) {
  return JSON.parse(execFileSync(harness, [mode, file, String(n)], { encoding: "utf8" }));
}

/**
 * {@link libbpf}, or why the reference cannot be measured on `file` (Debian's libbpf 1.1 predates
 * arenas, for one): `{ ref }` or `{ why }`.
 */
export function tryLibbpf(mode, file, n) {
  try {
    return { ref: libbpf(mode, file, n) };
  } catch (e) {
    const why = String(e.stderr ?? e.message).trim().split("\n")[0];
    return { why: `libbpf ${dpkgVersion()}: ${why}` };
  }
}

let libbpfVersion;
function dpkgVersion() {
  try {
    libbpfVersion ??= execFileSync("dpkg-query", ["-W", "-f=${Version}", "libbpf1"], { encoding: "utf8" }).replace(/^1:/, "").replace(/-.*/, "");
  } catch {
    libbpfVersion = "?";
  }
  return libbpfVersion;
}

export const us = (x) => (x >= 1000 ? x.toFixed(0) : x.toFixed(1));
/** ours / theirs: below 1 @x is faster. */
export const ratio = (ours, theirs) => {
  if (!(theirs > 0)) return "–";
  const r = ours / theirs;
  return `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}×`;
};

/** Print a Markdown table (so it can be pasted into bench/README.md as is). */
export function table(title, header, rows) {
  const cells = [header, ...rows].map((r) => r.map(String));
  const w = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(" | ")} |`;
  console.log(`\n### ${title}\n`);
  console.log(line(cells[0]));
  console.log(`|${w.map((x, i) => (i === 0 ? ":" : "") + "-".repeat(x + 1) + (i === 0 ? "" : ":")).join("|")}|`);
  for (const r of cells.slice(1)) console.log(line(r));
}
