// Renders the kernel × test-file matrix (markdown) from the per-kernel results of a run.
// A kernel entry: { name, suite, kver, pkg, debver, accel, seconds, vm: {status, rc}, cells }.
import { reasons } from "./classify.mjs";

const short = (kver) => String(kver ?? "").replace(/-amd64$/, "");

/** Text of one cell: "pass", "fail", "skip" or "unsupported", with counts when useful. */
export function cellText(c) {
  const { passed, failed, skipped, unsupported } = c.counts;
  const total = passed + failed + skipped + unsupported;
  switch (c.status) {
    case "pass":
      return skipped ? `pass ${passed}/${total} (${skipped} skipped)` : `pass ${passed}`;
    case "skip":
      return "skip";
    case "unsupported":
      return `unsupported ${unsupported || 1}/${total || 1}: ${reasons(c.unsupported).join(", ")}`;
    default:
      return total ? `**fail** ${failed}/${total}` : `**fail**: ${c.failures[0]?.message ?? ""}`;
  }
}

/** Whole-kernel verdict: "pass" when no cell failed and the VM finished on its own. */
export function kernelVerdict(k) {
  if (k.vm.status !== "ok") return k.vm.status;
  if (k.cells.some((c) => c.status === "fail")) return "fail";
  if (k.cells.length === 0) return "fail";
  return k.cells.some((c) => c.status === "unsupported") ? "pass (some unsupported)" : "pass";
}

/** The markdown report: a kernels table, the matrix, then each non-pass cell's reasons. */
export function renderMatrix(kernels) {
  const lines = [];
  lines.push("| kernel | suite | package version | uname -r | accel | run | tests pass/fail/skip/unsupported | verdict |");
  lines.push("|---|---|---|---|---|---|---|---|");
  for (const k of kernels) {
    const t = { passed: 0, failed: 0, skipped: 0, unsupported: 0 };
    for (const c of k.cells) for (const key of Object.keys(t)) t[key] += c.counts[key];
    lines.push(
      `| ${k.name} | ${k.suite} | ${k.debver || "-"} | ${k.kver} | ${k.accel} | ${k.seconds} s | ` +
        `${t.passed}/${t.failed}/${t.skipped}/${t.unsupported} | ${kernelVerdict(k)} |`,
    );
  }
  lines.push("");
  const files = [...new Set(kernels.flatMap((k) => k.cells.map((c) => c.file)))].sort();
  lines.push(`| test file | ${kernels.map((k) => `${k.name} (${short(k.kver)})`).join(" | ")} |`);
  lines.push(`|---|${kernels.map(() => "---").join("|")}|`);
  for (const f of files) {
    const row = kernels.map((k) => {
      const c = k.cells.find((x) => x.file === f);
      return c ? cellText(c) : "-";
    });
    lines.push(`| ${f.replace(/^packages\//, "")} | ${row.join(" | ")} |`);
  }
  const notes = [];
  for (const k of kernels) {
    for (const c of k.cells) {
      for (const u of c.unsupported) notes.push(`- ${k.name} ${c.file}: unsupported: ${u.feature} needs ${u.minKernel} — ${u.test}${u.reason ? `: ${u.reason}` : ""}`);
      for (const f of c.failures) notes.push(`- ${k.name} ${c.file}: **fail** ${f.test}: ${f.message}${f.where ? ` (at ${f.where})` : ""}`);
    }
    if (k.vm.status !== "ok") notes.push(`- ${k.name}: VM ${k.vm.status} (console log: ${k.consoleLog ?? "kept in the run folder"})`);
  }
  if (notes.length) lines.push("", "Failures and unsupported tests (full messages in each kernel's output.log):", "", ...notes);
  return lines.join("\n") + "\n";
}
