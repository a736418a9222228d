// Cold start: the wall time of a whole process, spawn to exit (median of K, the cases interleaved so
// that a busy moment touches them all): `xbpf inspect example.bpf.o` through the executable (its
// bundle), the same through the CLI's unbundled modules, and `node -e 0` (Node alone) beside them.
import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { median, N, root, table } from "./lib.mjs";

const example = `${root}fixtures/obj/example.bpf.o`;
const main = pathToFileURL(`${root}packages/cli/dist/main.js`).href;
const cases = [
  { name: "node -e 0 (Node alone)", args: ["-e", "0"] },
  { name: "xbpf inspect example.bpf.o (bin/xbpf.cjs: the bundle)", args: [`${root}packages/cli/bin/xbpf.cjs`, "inspect", example] },
  {
    name: "the same through the unbundled modules (dist/main.js)",
    args: ["--input-type=module", "-e", `process.exitCode = await (await import(${JSON.stringify(main)})).main(["inspect", ${JSON.stringify(example)}]);`],
  },
  { name: "xbpf --help (bundle)", args: [`${root}packages/cli/bin/xbpf.cjs`, "--help"] },
];
const k = Math.max(10, Math.round(N / 100));
const times = cases.map(() => []);
for (let i = 0; i < k + 2; i++) {
  for (const [j, c] of cases.entries()) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, c.args, { stdio: ["ignore", "ignore", "pipe"] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${c.name}: exit ${r.status}: ${r.stderr}`);
    if (i >= 2) times[j].push(ms); // two untimed rounds: the page cache warm for every case
  }
}
const node = median(times[0]);
table(
  `Cold start: a whole process, spawn to exit (median ms of ${k}; goal: xbpf inspect ≤ 100 ms)`,
  ["process", "ms", "beyond node -e 0"],
  cases.map((c, j) => [c.name, median(times[j]).toFixed(1), j === 0 ? "" : `+${(median(times[j]) - node).toFixed(1)}`]),
);
