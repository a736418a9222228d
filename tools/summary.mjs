// Prints the closing line of a test run: vitest's JSON report, plus the VM matrix when it ran.
// Usage: node tools/summary.mjs VITEST_JSON [MATRIX_JSON STARTED_MS]
import { readFileSync, statSync } from "node:fs";

const [reportPath, matrixPath, startedMs] = process.argv.slice(2);
const r = JSON.parse(readFileSync(reportPath, "utf8"));
let passed = r.numPassedTests;
let failed = r.numFailedTests;
const skipped = r.numPendingTests + r.numTodoTests;
let unsupported = 0;

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

const extra = skipped + unsupported ? `, ${skipped + unsupported} skipped` : "";
console.log(`tests: ${passed} passed, ${failed} failed${extra}`);
if (unsupported) console.log(`(${unsupported} of the skipped are VM tests of features an older kernel lacks: see the matrix above)`);
if (process.env.CI && skipped) {
  console.error("error: host tests were skipped in CI; kernel tests must run here");
  process.exit(1);
}
if (r.numTotalTests === 0 || failed) process.exit(1);
