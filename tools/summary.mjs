// Prints the closing line of a test run: vitest's JSON report, plus the VM matrix when it ran.
// Usage: node tools/summary.mjs VITEST_JSON [MATRIX_JSON STARTED_MS]
// The host run is classified as the VM cells are (test-vm/lib/classify.mjs): a test that fails with
// an UnsupportedFeatureError is "unsupported" (with its reason printed), not a failure and not a pass.
import { readFileSync, statSync } from "node:fs";
import { classifyReport } from "../test-vm/lib/classify.mjs";

const [reportPath, matrixPath, startedMs] = process.argv.slice(2);
const r = JSON.parse(readFileSync(reportPath, "utf8"));
const skipped = r.numPendingTests + r.numTodoTests;
let passed = 0;
let failed = 0;
let unsupported = 0;
const hostUnsupported = [];
for (const c of classifyReport(r, process.cwd())) {
  passed += c.counts.passed;
  failed += c.counts.failed;
  unsupported += c.counts.unsupported;
  if (c.status === "fail" && c.counts.failed === 0) failed += 1; // the file itself failed
  for (const u of c.unsupported) hostUnsupported.push(`${c.file}: ${u.test}: ${u.feature} needs ${u.minKernel} (${u.reason})`);
}
if (hostUnsupported.length) {
  console.log(`unsupported on this host (${hostUnsupported.length}):`);
  for (const u of hostUnsupported) console.log(`  ${u}`);
}

if (matrixPath) {
  // A matrix older than this run means the VM runner died before writing one: that is a failure.
  let matrix;
  try {
    if (statSync(matrixPath).mtimeMs >= Number(startedMs)) matrix = JSON.parse(readFileSync(matrixPath, "utf8"));
  } catch {}
  if (!matrix) {
    console.error("error: the VM matrix produced no result");
    failed += 1;
  } else {
    for (const k of matrix.kernels) {
      if (k.suite === "host") continue; // the host row repeats tests already counted above
      for (const c of k.cells) {
        passed += c.counts.passed;
        failed += c.counts.failed;
        unsupported += c.counts.unsupported;
        // A cell with no result at all (panic, timeout, file that did not load) counts as one failure.
        if (c.status === "fail" && c.counts.failed === 0) failed += 1;
      }
    }
  }
}

const extra = (skipped ? `, ${skipped} skipped` : "") + (unsupported ? `, ${unsupported} unsupported` : "");
console.log(`tests: ${passed} passed, ${failed} failed${extra}`);
if (unsupported) console.log(`(unsupported: tests of features a kernel lacks, each with its reason: see above and the matrix)`);
if (process.env.CI && skipped) {
  console.error("error: host tests were skipped in CI; kernel tests must run here");
  process.exit(1);
}
if (r.numTotalTests === 0 || failed) process.exit(1);
