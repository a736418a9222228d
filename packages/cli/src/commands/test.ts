/**
 * `xbpf test OBJ… [--filter GLOB] [--json]`: run the annotated programs of BPF objects as the kernel's
 * selftests run theirs (`__success`, `__failure`, `__msg`, `__retval`… of progs/bpf_misc.h), and print
 * a report: one line per test, the failing ones with why and the verifier log around it. Exit 1 when a
 * test fails.
 */
import { hasTestAnnotations, objectTestLoader, objectTestSpecs, openObject, runTests, testEnvironment, type TestResult } from "@x/loader";
import { parseArgs, UsageError } from "../args.js";
import type { Command } from "../command.js";
import { toJson } from "../format.js";
import { EXIT_FAILURE, EXIT_OK } from "../main.js";

function line(file: string, t: TestResult): string {
  const mark = t.status === "pass" ? "ok" : t.status === "skip" ? "skip" : "FAIL";
  return `${mark.padEnd(4)}  ${file}: ${t.name}${t.reason ? `: ${t.reason}` : ""}${t.unchecked.length ? ` (not checked: ${t.unchecked.join(", ")})` : ""}`;
}

export const test: Command = {
  usage: "xbpf test OBJ… [--filter GLOB] [--json]",
  async run(argv, out) {
    const args = parseArgs(argv, { flags: ["json"], values: ["filter"] });
    if (!args.positionals.length) throw new UsageError("expected one or more object files");
    const options = { ...testEnvironment(), filter: args.values.get("filter") };
    const all: { object: string; results: TestResult[] }[] = [];
    for (const path of args.positionals) {
      const spec = openObject(path);
      const specs = spec.btf && hasTestAnnotations(spec.btf) ? objectTestSpecs(spec.btf, spec.programs.map((p) => p.name)) : [];
      all.push({ object: path, results: specs.length ? await runTests(specs, objectTestLoader(path), options) : [] });
    }
    const results = all.flatMap((o) => o.results);
    const n = (s: TestResult["status"]) => results.filter((r) => r.status === s).length;
    const summary = { passed: n("pass"), failed: n("fail"), skipped: n("skip") };
    if (args.flags.has("json")) out(toJson({ ...summary, objects: all }));
    else {
      for (const o of all) {
        if (!o.results.length) out(`      ${o.object}: no annotated programs`);
        for (const t of o.results) {
          out(line(o.object, t));
          if (t.status === "fail" && t.log) out(t.log.split("\n").map((l) => `      | ${l}`).join("\n"));
        }
      }
      out(`tests: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
    }
    return summary.failed ? EXIT_FAILURE : EXIT_OK;
  },
};
