/**
 * The runner of annotated BPF programs (`xbpf test`): `test_loader.c` of the kernel's selftests, for any
 * object. Each annotated program is a test, loaded with its object's auxiliary programs only; the
 * outcome (load success or failure), the verifier log (`__msg` lines, in order) and, for `__retval`, the
 * result of one BPF_PROG_TEST_RUN are checked against the annotations (see test-annotations.ts).
 *
 * The runner does not load anything itself: a {@link TestLoader} does (@x's, or another loader driven the
 * same way, so that two loaders can be compared on the same tests).
 */
import type { Btf } from "@x/btf";
import { POINTER_VALUE, programTestSpec, type TestExpectation, type TestPattern, type TestSpec } from "./test-annotations.js";

/** One load a test asks for. */
export interface TestLoadRequest {
  /** The program under test. */
  readonly target: string;
  /** Every program to load: the target and the object's auxiliary ones. */
  readonly programs: readonly string[];
  /** Verifier log level of the target. */
  readonly logLevel: number;
  /** Flags of the target, added to what its section gives (`__flag`, and the runner's test flags). */
  readonly flags: number;
  /** `__btf_path`: the BTF for CO-RE (a path, resolved against the object's folder). */
  readonly btfPath?: string;
  /** Test-run the target once after a successful load (struct_ops maps registered first). */
  readonly run: boolean;
}

/** What came of a load. */
export interface TestLoadResult {
  readonly loaded: boolean;
  /** The target's verifier log (on failure: the log of the failing load). */
  readonly log: string;
  /** Why the load failed, in the loader's words. */
  readonly error?: string;
  /** With `run`: BPF_PROG_TEST_RUN's return value, or why the run failed. */
  readonly retval?: number;
  readonly runError?: string;
}

/** Loads for the runner; may be asynchronous (another process does the load). */
export type TestLoader = (request: TestLoadRequest) => TestLoadResult | Promise<TestLoadResult>;

/** A test's result. */
export interface TestResult {
  readonly program: string;
  /** The subtest's name (the description, or the program's name; ` @unpriv` for the unprivileged mode). */
  readonly name: string;
  readonly mode: "priv" | "unpriv";
  readonly status: "pass" | "fail" | "skip";
  /** Why it failed or was skipped. */
  readonly reason?: string;
  /** The part of the verifier log that explains a failure. */
  readonly log?: string;
  /** Checks the runner could not make (`__xlated`: the translated program's disassembly). */
  readonly unchecked: readonly string[];
}

/** Options of {@link runTests}. */
export interface TestRunOptions {
  /** Only tests whose name or program matches this glob (`*` and `?`). */
  readonly filter?: string;
  /** The architecture (`X86_64`, `ARM64`, `RISCV64`): tests `__arch_*`'d for another are skipped. */
  readonly arch: string;
  /** Flags the runner adds to every test (test_progs': BPF_F_TEST_RND_HI32 and BPF_F_TEST_REG_INVARIANTS where the kernel has them). */
  readonly testFlags: number;
  /** Why unprivileged tests cannot run here (they are then skipped with it); undefined: they can. */
  readonly unprivileged?: string;
}

/** `*` and `?` globs. */
function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
}

/** The tests of an object: every program with a FUNC in `btf`, in `programs` order. */
export function objectTestSpecs(btf: Btf, programs: readonly string[]): TestSpec[] {
  return programs.flatMap((p) => programTestSpec(btf, p) ?? []);
}

/**
 * Where `patterns` are found in `text`, in order (test_loader `validate_msgs`): the first one missing,
 * or one on the wrong line (disassembly patterns that must follow the previous match), fails.
 */
export function matchPatterns(text: string, patterns: readonly TestPattern[]): { ok: true } | { ok: false; index: number; why: string } {
  let at = 0;
  let prevLine = -1;
  for (const [i, p] of patterns.entries()) {
    let start = -1, end = -1;
    if (p.regex) {
      const re = new RegExp(p.regex.source, `${p.regex.flags.replace("g", "")}g`);
      re.lastIndex = at;
      const m = re.exec(text);
      if (m) [start, end] = [m.index, m.index + m[0].length];
    } else {
      start = text.indexOf(p.text, at);
      if (start >= 0) end = start + p.text.length;
    }
    if (start < 0) return { ok: false, index: i, why: `expected ${p.regex ? "regex" : "text"} '${p.text}' not found${i ? ` after '${patterns[i - 1]!.text}'` : ""}` };
    const line = text.slice(0, start).split("\n").length - 1;
    if (p.onNextLine && prevLine >= 0 && line !== prevLine + 1) return { ok: false, index: i, why: `'${p.text}' is at line ${line}, expected line ${prevLine + 1}` };
    prevLine = line;
    at = end;
  }
  return { ok: true };
}

/** The lines of `log` around where matching stopped: its end, or the last 30 lines. */
function excerpt(log: string): string {
  const lines = log.trimEnd().split("\n");
  return lines.slice(-30).join("\n");
}

/**
 * Run every test of an object (test_loader `process_subtest` / `run_subtest`) through `load`.
 * `specs` are the object's programs' tests in order (see {@link objectTestSpecs}).
 */
export async function runTests(specs: readonly TestSpec[], load: TestLoader, options: TestRunOptions): Promise<TestResult[]> {
  const filter = options.filter ? globToRegExp(options.filter) : undefined;
  const results: TestResult[] = [];
  for (const spec of specs) {
    for (const mode of ["priv", "unpriv"] as const) {
      const expect = spec[mode];
      if (!expect) continue;
      if (filter && !filter.test(expect.name) && !filter.test(spec.program)) continue;
      results.push(await runOne(specs, spec, expect, mode, load, options));
    }
  }
  return results;
}

async function runOne(specs: readonly TestSpec[], spec: TestSpec, expect: TestExpectation, mode: "priv" | "unpriv", load: TestLoader, o: TestRunOptions): Promise<TestResult> {
  const base = { program: spec.program, name: expect.name, mode, unchecked: expect.xlated.length ? ["xlated"] : [] };
  if (spec.problems.length) return { ...base, status: "fail", reason: spec.problems.join("; ") };
  if (spec.arch.length && !spec.arch.includes(o.arch)) return { ...base, status: "skip", reason: `for ${spec.arch.join(", ")} only` };
  if (mode === "unpriv" && o.unprivileged) return { ...base, status: "skip", reason: o.unprivileged };
  const programs = [spec.program, ...specs.filter((s) => s !== spec && s.auxiliary[mode]).map((s) => s.program)];
  const flags = (o.testFlags | spec.flags.set) & ~spec.flags.clear;
  const run = expect.retval !== undefined && !expect.expectFailure;
  const r = await load({ target: spec.program, programs, logLevel: spec.logLevel, flags, btfPath: spec.btfPath, run });
  if (expect.expectFailure && r.loaded) return { ...base, status: "fail", reason: "unexpected load success", log: excerpt(r.log) || undefined };
  if (!expect.expectFailure && !r.loaded) return { ...base, status: "fail", reason: `unexpected load failure: ${r.error ?? "?"}`, log: excerpt(r.log) || undefined };
  const m = matchPatterns(r.log, expect.messages);
  if (!m.ok) return { ...base, status: "fail", reason: `verifier log: ${m.why}`, log: excerpt(r.log) || "(empty log)" };
  if (run) {
    if (r.retval === undefined) return { ...base, status: "fail", reason: `test run failed: ${r.runError ?? "no result"}` };
    if (expect.retval !== POINTER_VALUE && (r.retval | 0) !== (expect.retval! | 0)) return { ...base, status: "fail", reason: `retval ${r.retval | 0}, expected ${expect.retval}` };
  }
  return { ...base, status: "pass" };
}
