// Usage: node report.mjs RUN_DIR REPO
// Reads RUN_DIR/files.txt (the test files run), RUN_DIR/kernels.txt (kernel names in matrix order) and,
// per kernel, RUN_DIR/NAME/{meta.env,vm.env,results.json} (and the same in RUN_DIR/NAME/tcg-single/ for the
// files that ran in a single-threaded TCG boot of their own, each part with its files.txt); writes RUN_DIR/matrix.md and matrix.json,
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
/** A kernel's runs: its own folder, and `tcg-single/` when some files ran in a boot of their own (run.sh). */
function kernelParts(d) {
  const parts = [];
  if (existsSync(join(d, "files.txt")) || !existsSync(join(d, "tcg-single"))) parts.push(d);
  if (existsSync(join(d, "tcg-single"))) parts.push(join(d, "tcg-single"));
  return parts.map((p) => {
    const vmEnv = readEnv(join(p, "vm.env"));
    let report;
    try {
      report = JSON.parse(readFileSync(join(p, "results.json"), "utf8"));
    } catch {}
    const own = join(p, "files.txt");
    const partFiles = existsSync(own) ? readFileSync(own, "utf8").split("\n").filter(Boolean) : files;
    const vm = { status: vmEnv.VM_STATUS ?? "not run", rc: Number(vmEnv.VM_RC ?? 1) };
    return { dir: p, vmEnv, vm, cells: kernelCells(partFiles, report, root, vm) };
  });
}

const kernels = lines("kernels.txt").map((name) => {
  const d = join(dir, name);
  const meta = readEnv(join(d, "meta.env"));
  const parts = kernelParts(d);
  // The kernel's VM verdict is its first part that did not end well; its time, all of its boots.
  const worst = parts.find((p) => p.vm.status !== "ok" || p.vm.rc !== 0) ?? parts[0];
  const order = new Map(files.map((f, i) => [f, i]));
  return {
    name,
    suite: meta.SUITE ?? "-",
    kver: meta.KVER ?? "?",
    pkg: meta.PKG ?? "",
    debver: meta.DEBVER ?? "",
    accel: [...new Set(parts.map((p) => p.vmEnv.VM_ACCEL ?? "-"))].join(" + "),
    seconds: parts.reduce((sum, p) => sum + Number(p.vmEnv.VM_SECONDS ?? 0), 0),
    vm: worst.vm,
    consoleLog: join(worst.dir, "console.log"),
    cells: parts.flatMap((p) => p.cells).sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0)),
  };
});
const md = renderMatrix(kernels);
writeFileSync(join(dir, "matrix.md"), md);
writeFileSync(join(dir, "matrix.json"), JSON.stringify({ files, kernels }, null, 2) + "\n");
process.stdout.write(md);
process.exit(kernels.every((k) => kernelVerdict(k).startsWith("pass")) ? 0 : 1);
