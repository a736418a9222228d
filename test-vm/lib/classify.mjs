// Classifies a vitest JSON report into one matrix cell per test file: pass, fail, skip or unsupported.
//
// Convention (see test-vm/README.md): a test that cannot run because the kernel lacks a feature lets
// @x/sys's UnsupportedFeatureError propagate (requireFeature(name), or the loader throwing it). vitest
// records it as a failure whose message starts with
//   "UnsupportedFeatureError: the running kernel does not support FEATURE: … (needs Linux MIN or newer)"
// and that failure is reported as "unsupported: FEATURE needs MIN" instead of a failure. A requirement that
// is not a version ends the message in "(needs CONFIG_X=y)" instead (see UNSUPPORTED_CONFIG).
import { relative } from "node:path";

const UNSUPPORTED =
  /UnsupportedFeatureError: the running kernel does not support ([^\s:]+): ([\s\S]*?) ?\(needs Linux (\d[\w.-]*) or newer\)/;
// A requirement that is a kernel configuration rather than a version (packages/sys/test/modules.ts's
// KernelConfigError): "… support kernel_modules: no /proc/modules (needs CONFIG_MODULES=y)", the
// parenthesis ending the line. Tried only when the form above does not match.
const UNSUPPORTED_CONFIG = /UnsupportedFeatureError: the running kernel does not support ([^\s:]+): ([^\n]*?) ?\(needs ([^()\n]+)\)[ \t]*$/m;

/** The reason as one short line. */
const shortReason = (s) => {
  const line = firstLine(s);
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
};

/**
 * `{ feature, minKernel, reason }` when `message` is an UnsupportedFeatureError's, else undefined.
 * `minKernel` is a version ("5.11") or, for a configuration requirement, what is needed ("CONFIG_MODULES=y").
 */
export function parseUnsupported(message) {
  const m = UNSUPPORTED.exec(message ?? "") ?? UNSUPPORTED_CONFIG.exec(message ?? "");
  return m ? { feature: m[1], minKernel: m[3], reason: shortReason(m[2]) } : undefined;
}

/** First meaningful line of an error message (no stack frames, no ANSI colours). */
export function firstLine(message) {
  const clean = String(message ?? "").replace(/\x1b\[[0-9;]*m/g, "");
  return clean.split("\n").map((l) => l.trim()).find((l) => l && !l.startsWith("at ")) ?? "";
}

/**
 * `file:line` where a test failed: the first stack frame in a test folder, else the first outside
 * node_modules, else "".
 */
export function firstFrame(message, root) {
  const frames = [...String(message ?? "").matchAll(/^\s*at (?:.*\()?(?:file:\/\/)?(\/[^():]+):(\d+):\d+\)?$/gm)]
    .map((m) => ({ file: m[1], line: m[2] }))
    .filter((f) => !f.file.includes("/node_modules/"));
  const f = frames.find((x) => x.file.includes("/test/")) ?? frames[0];
  return f ? `${root ? relative(root, f.file) : f.file}:${f.line}` : "";
}

/** "feature needs 5.2" strings of a list of unsupported records, each once, sorted. */
export function reasons(list) {
  return [...new Set(list.map((u) => `${u.feature} needs ${u.minKernel}`))].sort();
}

/**
 * One entry per test file of the report: `{ file, status, counts, unsupported, failures }`, with
 * status "fail" (a test or the file itself failed), "unsupported" (some tests need a feature the kernel
 * lacks, nothing else failed), "pass" (at least one test passed, the rest passed or were skipped) or
 * "skip" (nothing ran). `file` is relative to `root`.
 */
export function classifyReport(report, root) {
  const out = [];
  for (const tr of report?.testResults ?? []) {
    const file = root ? relative(root, tr.name) : tr.name;
    const counts = { passed: 0, failed: 0, skipped: 0, unsupported: 0 };
    const unsupported = [];
    const failures = [];
    for (const a of tr.assertionResults ?? []) {
      const test = [...(a.ancestorTitles ?? []), a.title].join(" > ");
      if (a.status === "passed") counts.passed++;
      else if (a.status === "failed") {
        const msg = (a.failureMessages ?? []).join("\n");
        const u = parseUnsupported(msg);
        if (u) {
          counts.unsupported++;
          unsupported.push({ test, ...u });
        } else {
          counts.failed++;
          failures.push({ test, message: firstLine(msg) || "failed", where: firstFrame(msg, root) });
        }
      } else counts.skipped++;
    }
    // A failure outside any test (import, beforeAll, unhandled error) is on the file.
    if (tr.status === "failed" && counts.failed === 0 && counts.unsupported === 0) {
      const u = parseUnsupported(tr.message);
      if (u) unsupported.push({ test: "(file)", ...u });
      else failures.push({ test: "(file)", message: firstLine(tr.message) || "test file failed" });
    }
    let status;
    if (failures.length) status = "fail";
    else if (unsupported.length) status = "unsupported";
    else if (counts.passed) status = "pass";
    else status = "skip";
    out.push({ file, status, counts, unsupported, failures });
  }
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

/**
 * The cells of one kernel: every expected file gets one. Files missing from the report (the VM
 * panicked, timed out or vitest died first) are failures with the VM's status as the reason.
 */
export function kernelCells(expectedFiles, report, root, vm) {
  const byFile = new Map(classifyReport(report, root).map((c) => [c.file, c]));
  const why =
    vm.status !== "ok" ? `no result (VM ${vm.status})` : vm.rc === 124 ? "no result (the suite timed out in the guest)" : `no result (vitest exit ${vm.rc})`;
  const cells = expectedFiles.map(
    (f) =>
      byFile.get(f) ?? {
        file: f,
        status: "fail",
        counts: { passed: 0, failed: 0, skipped: 0, unsupported: 0 },
        unsupported: [],
        failures: [{ test: "(file)", message: why }],
      },
  );
  for (const [f, c] of byFile) if (!expectedFiles.includes(f)) cells.push(c);
  return cells;
}
