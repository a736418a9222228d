/**
 * A fixed sample of the kernel's own annotated BPF selftests (progs/*.c of linux-source-6.12, built by
 * tools/selftests-corpus.mjs as the selftests Makefile builds them), run as `xbpf test` runs them: @x
 * must agree with every annotation (outcome, verifier messages, return value), and give the same
 * verdict as libbpf of the same source driven the same way. `npm run corpus` runs all ~800.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { objectTestLoader, objectTestSpecs, openObject, runTests, testEnvironment } from "@x/loader";
import { libbpfTestLoader } from "../../../tools/corpus/libbpf.mjs";
import { buildCorpus, missingPrerequisites } from "../../../tools/selftests-corpus.mjs";
import { haveReference } from "./reference.js";

/** Verifier tests of many kinds (bounds, stack, packet access, calls, callbacks, exceptions, tail calls, global functions). */
const SAMPLE = [
  "exceptions", "iters_looping", "tailcall_bpf2bpf_hierarchy2", "test_global_func1", "test_global_func_ctx_args",
  "verifier_and", "verifier_basic_stack", "verifier_bounds_deduction_non_const", "verifier_bswap", "verifier_cfg",
  "verifier_ctx", "verifier_direct_packet_access", "verifier_div0", "verifier_div_overflow", "verifier_gotol",
  "verifier_helper_value_access", "verifier_iterating_callbacks", "verifier_jeq_infer_not_null", "verifier_ld_ind",
  "verifier_leak_ptr", "verifier_loops1", "verifier_map_ptr_mixing", "verifier_map_ret_val", "verifier_masking",
  "verifier_movsx", "verifier_regalloc", "verifier_ringbuf", "verifier_search_pruning", "verifier_stack_ptr",
  "verifier_subreg", "verifier_value", "verifier_value_or_null", "verifier_xadd", "verifier_xdp_direct_packet_access",
];

const missing = missingPrerequisites();
const problem = missing.length ? `cannot build the selftests sample: missing ${missing.join("; ")}` : undefined;
if (problem && process.env.CI) throw new Error(`${problem}. Refusing to skip silently.`);
if (problem) console.warn(`[@x/loader] skipping the selftests sample: ${problem}`);

describe.runIf(haveReference && !problem)("the kernel's selftests, a sample: xbpf test against the annotations and libbpf", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await buildCorpus({ only: SAMPLE });
  }, 600_000);

  it.each(SAMPLE)("%s", async (name) => {
    const path = join(dir, "obj", `${name}.bpf.o`);
    const spec = openObject(path);
    const specs = objectTestSpecs(spec.btf!, spec.programs.map((p) => p.name));
    const env = testEnvironment();
    const x = await runTests(specs, objectTestLoader(path), env);
    const lib = await runTests(specs, libbpfTestLoader(join(dir, "harness"), path), env);
    expect(x.filter((t) => t.status === "fail").map((t) => `${t.name}: ${t.reason}`)).toEqual([]);
    expect(x.map((t) => `${t.program} ${t.mode} ${t.status}`)).toEqual(lib.map((t) => `${t.program} ${t.mode} ${t.status}`));
    expect(x.some((t) => t.status === "pass")).toBe(true);
  });
});
