// Usage: node report.mjs RUN_DIR REPO
// Reads RUN_DIR/files.txt (the test files run), RUN_DIR/kernels.txt (kernel names in matrix order) and,
// per kernel, RUN_DIR/NAME/{meta.env,vm.env,results.json}; writes RUN_DIR/matrix.md and matrix.json,
// prints the markdown, and exits 1 when any kernel failed (a failed cell, a panic, a timeout).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kernelCells } from "./classify.mjs";
import { kernelVerdict, renderMatrix } from "./matrix.mjs";

/** KEY=VALUE lines (as written by the bash side) into an object. */
export function parseEnv(text) {
  const o = {};
  for (const line of text.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) o[line.slice(0, i)] = line.slice(i + 1);
  }
  return o;
}

const [dir, root] = process.argv.slice(2);
const lines = (f) => readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean);
const readEnv = (f) => (existsSync(f) ? parseEnv(readFileSync(f, "utf8")) : {});
const files = lines("files.txt");
const kernels = lines("kernels.txt").map((name) => {
  const d = join(dir, name);
  const meta = readEnv(join(d, "meta.env"));
  const vmEnv = readEnv(join(d, "vm.env"));
  let report;
  try {
    report = JSON.parse(readFileSync(join(d, "results.json"), "utf8"));
  } catch {}
  const vm = { status: vmEnv.VM_STATUS ?? "not run", rc: Number(vmEnv.VM_RC ?? 1) };
  return {
    name,
    suite: meta.SUITE ?? "-",
    kver: meta.KVER ?? "?",
    pkg: meta.PKG ?? "",
    debver: meta.DEBVER ?? "",
    accel: vmEnv.VM_ACCEL ?? "-",
    seconds: Number(vmEnv.VM_SECONDS ?? 0),
    vm,
    consoleLog: join(d, "console.log"),
    cells: kernelCells(files, report, root, vm),
  };
});
const md = renderMatrix(kernels);
writeFileSync(join(dir, "matrix.md"), md);
writeFileSync(join(dir, "matrix.json"), JSON.stringify({ files, kernels }, null, 2) + "\n");
process.stdout.write(md);
process.exit(kernels.every((k) => kernelVerdict(k).startsWith("pass")) ? 0 : 1);
