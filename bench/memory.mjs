// Peak RSS: a process that opens and loads fixtures/obj/scale.bpf.o (200 programs, 400 globals) once,
// @x (Node) beside libbpf (c/libbpf-rss.c), each in a fresh process; "before open" is the same process
// with its code loaded and the object's bytes read, so the difference is what open + load cost.
import { execFileSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { median, ratio, root, table } from "./lib.mjs";

const object = `${root}fixtures/obj/scale.bpf.o`;
const loader = pathToFileURL(`${root}packages/loader/dist/index.js`).href;
const child = `
  import { readFileSync } from "node:fs";
  const { openObject } = await import(${JSON.stringify(loader)});
  const bytes = new Uint8Array(readFileSync(${JSON.stringify(object)}));
  const before = process.resourceUsage().maxRSS;
  const loaded = openObject(bytes).load();
  const peak = process.resourceUsage().maxRSS;
  loaded.dispose();
  console.log(JSON.stringify({ before_kib: before, peak_kib: peak }));
`;
const runs = 5; // peak RSS barely moves between runs; the median of a few steadies it
const measureRuns = (run) => {
  const rs = Array.from({ length: runs }, () => JSON.parse(run()));
  return { before: median(rs.map((r) => r.before_kib)), peak: median(rs.map((r) => r.peak_kib)) };
};
const ours = measureRuns(() => execFileSync(process.execPath, ["--input-type=module", "-e", child], { encoding: "utf8" }));
const node = median(Array.from({ length: runs }, () => Number(execFileSync(process.execPath, ["-e", "console.log(process.resourceUsage().maxRSS)"], { encoding: "utf8" }))));
const ref = measureRuns(() => execFileSync(`${root}bench/out/libbpf-rss`, [object], { encoding: "utf8" }));

const mib = (kib) => (kib / 1024).toFixed(1);
table(
  `Memory: peak RSS of one open + load of scale.bpf.o (200 programs, 400 globals), median of ${runs} processes (MiB)`,
  ["process", "peak", "before open", "open + load adds", "ratio (peak)"],
  [
    ["@x (Node)", mib(ours.peak), mib(ours.before), mib(ours.peak - ours.before), ratio(ours.peak, ref.peak)],
    ["@x beyond Node alone (peak − node -e 0)", mib(ours.peak - node), "", "", ratio(ours.peak - node, ref.peak)],
    ["libbpf (C)", mib(ref.peak), mib(ref.before), mib(ref.peak - ref.before), ""],
    ["node -e 0 (Node alone)", mib(node), "", "", ""],
  ],
);
