/**
 * The kernel's CO-RE selftest cases (prog_tests/core_reloc.c of Debian's linux-source-6.12) as data
 * plus compiled objects, built by tools/core-reloc-cases.mjs into a per-machine cache. What a case
 * is and how to run one: tools/core-reloc-cases.md.
 *
 * ```ts
 * import { coreRelocPrerequisites, expectedOutput, loadCoreRelocCases, selftestPidTgid } from "../../../tools/test/core-reloc.js";
 * for (const c of loadCoreRelocCases()) { … }
 * ```
 *
 * Loading needs Node only when the build is in the cache (a warm lookup stats a few files); otherwise
 * it runs the builder (~15 s on 2 cores; clang-19, gcc, bpftool, python3 and the tarball needed).
 */
import { execFileSync } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findBuild, missingPrerequisites } from "../core-reloc-cases.mjs";

const BUILDER = fileURLToPath(new URL("../core-reloc-cases.mjs", import.meta.url));

/** Size of the programs' `data.in` and `data.out` (`char in[256]; char out[256];`). */
export const CORE_RELOC_DATA_BYTES = 256;

/** One member of the struct a program writes its output as. */
export interface CoreRelocField {
  name: string;
  offset: number;
  size: number;
}

/** One entry of core_reloc.c's `test_cases[]`, with what its sources and objects say. */
export interface CoreRelocCase {
  /** Position in `test_cases[]`. */
  index: number;
  /** `case_name`: `"flavors"`, `"probed:bitfields"`, … (unique). */
  name: string;
  /** Absolute path of the BPF object (`bpf_obj_file`, a compiled `progs/test_core_reloc_*.c`). */
  object: string;
  /** `prog_name`: the program to run (an object may hold more than one). */
  program: string;
  /** The program's ELF section (`SEC()`): `raw_tracepoint/sys_enter`, `tp_btf/sys_enter`, … */
  section: string;
  /** `raw_tp_name`: the raw tracepoint the selftest attaches to; null for tp_btf programs (by BTF id). */
  rawTpName: string | null;
  /** Absolute path of the target-BTF object (`btf_src_file`); null: the running kernel's BTF. */
  targetBtf: string | null;
  /** Where target types come from: that object's `.BTF`, vmlinux, or kernel modules (vmlinux + module BTFs). */
  targetBtfSource: "file" | "vmlinux" | "kernel-modules";
  /** Bytes copied into `data.in` (`input_len` of them; the rest of `data` is zero). */
  input: Uint8Array;
  /** Expected first `output.length` bytes of `data.out`; null when the load must fail. See {@link expectedOutput}. */
  output: Uint8Array | null;
  /** The struct the program writes `data.out` as, and its layout (host = BPF layout here). */
  outputType: string;
  outputLayout: { size: number; fields: CoreRelocField[] };
  /** The load must fail (a CO-RE relocation cannot be resolved, or resolves to a poisoned instruction). */
  fails: boolean;
  /** `run_btfgen_fails`: skipped by the selftests' btfgen variant (`bpftool gen min_core_btf`). */
  runBtfgenFails: boolean;
  /** Needs bpf_testmod.ko: see {@link unsupported}. */
  needsTestmod: boolean;
  /** `relaxed_core_relocs`: no 6.12 case sets it and core_reloc.c never reads it (always false). */
  relaxedCoreRelocs: boolean;
  /** core_reloc.c's setup function, if any (its effect, the expected type ids, is already in `output`). */
  setup: string | null;
  /** core_reloc.c's trigger function, if any (else the selftest triggers with `usleep(1)`). */
  trigger: string | null;
  /**
   * How to run it here: `test-run` (load, BPF_PROG_TEST_RUN, compare), `attach` (tp_btf: attach, make a
   * syscall, compare), `load-fails` (the load must fail), `unsupported` (see {@link unsupported}).
   */
  run: "test-run" | "attach" | "load-fails" | "unsupported";
  /** Why the case cannot run here, when `run` is `unsupported`. */
  unsupported: string | null;
  /** Members of the program's `data` global, in order (`in`, `out`, and for some `skip`, `my_pid_tgid`). */
  dataFields: string[];
  /** Output members that depend on the running task (the `comm` the program reads): see {@link expectedOutput}. */
  runtimeFields: string[];
  /** Helpers the program calls. */
  helpers: string[];
  /** BTF kinds in the object's `.BTF` (FLOAT and ENUM64 need sanitizing on older kernels). */
  objectBtfKinds: string[];
  /** Number of CO-RE relocation records in the object's `.BTF.ext`. */
  coreRelos: number;
}

interface CaseJson extends Omit<CoreRelocCase, "object" | "targetBtf" | "input" | "output"> {
  object: string;
  targetBtf: string | null;
  input: string;
  inputSize: number;
  output: string | null;
  outputSize: number;
}

/**
 * Why the cases cannot be built on this machine, or undefined when they can (or are already built).
 * Tests follow the repo's rule with it: outside CI skip with a visible warning, in CI fail.
 */
export function coreRelocPrerequisites(): string | undefined {
  if (findBuild()) return undefined;
  const missing = missingPrerequisites();
  return missing.length ? `missing ${missing.join("; ")} (as root, bash tools/core-reloc-cases.sh installs them)` : undefined;
}

let buildDir: string | undefined;
/** The build folder (cases.json, manifest.json, obj/, src/), building it if needed. */
export function coreRelocBuildDir(): string {
  if (buildDir) return buildDir;
  let dir = findBuild();
  if (!dir) {
    try {
      dir = execFileSync(process.execPath, [BUILDER, "--print-dir"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`tools/core-reloc-cases.mjs failed: ${err.stderr?.trim() || err.message}`);
    }
  }
  return (buildDir = dir);
}

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"));

let cases: CoreRelocCase[] | undefined;
/** Every case of core_reloc.c's `test_cases[]`, in table order (a fresh copy each call). */
export function loadCoreRelocCases(): CoreRelocCase[] {
  if (!cases) {
    const dir = coreRelocBuildDir();
    const json = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8")) as { count: number; cases: CaseJson[] };
    cases = json.cases.map(({ inputSize, outputSize, ...c }) => {
      const input = hex(c.input);
      const output = c.output === null ? null : hex(c.output);
      if (input.length !== inputSize || (output?.length ?? 0) !== outputSize) throw new Error(`${dir}/cases.json: case ${c.name}: sizes do not match the bytes`);
      return { ...c, object: join(dir, c.object), targetBtf: c.targetBtf === null ? null : join(dir, c.targetBtf), input, output };
    });
  }
  return cases.map((c) => structuredClone(c));
}

/**
 * `data.my_pid_tgid` as core_reloc.c sets it (`getpid() | (u64)gettid() << 32`). The kernel program
 * compares it with `bpf_get_current_pid_tgid()` (`tgid << 32 | tid`), so the two agree only on a
 * thread whose tid is the pid: the process's main thread. Throws on any other thread.
 */
export function selftestPidTgid(): bigint {
  const m = /^(\d+)\/task\/(\d+)$/.exec(readlinkSync("/proc/thread-self"));
  if (!m) throw new Error("cannot read /proc/thread-self");
  if (m[1] !== m[2]) throw new Error(`the kernel case must run on the main thread (tid ${m[2]} is not the pid ${m[1]})`);
  return (BigInt(m[2]!) << 32n) | BigInt(m[1]!);
}

/**
 * The bytes `data.out` must start with after the run, for this process. Only the `kernel` and
 * `module_*` cases differ from `c.output`: the selftest expects the comm of its own binary
 * ("test_progs"), while the program reads the comm of the task that runs it, copied with
 * `bpf_probe_read_kernel_str` into `char comm[11]` (at most 10 characters and a NUL; `comm_len` is
 * the count copied with the NUL). `comm` defaults to this thread's (/proc/thread-self/comm).
 */
export function expectedOutput(c: CoreRelocCase, comm?: string): Uint8Array {
  if (!c.output) throw new Error(`case ${c.name} has no output: its load must fail`);
  const out = c.output.slice();
  if (!c.runtimeFields.length) return out;
  const field = (name: string) => {
    const f = c.outputLayout.fields.find((x) => x.name === name);
    if (!f) throw new Error(`case ${c.name}: no ${name} in struct ${c.outputType}`);
    return f;
  };
  const commField = field("comm");
  const lenField = field("comm_len");
  const name = Buffer.from((comm ?? readFileSync("/proc/thread-self/comm", "utf8")).replace(/\n$/, ""), "latin1").subarray(0, commField.size - 1);
  out.fill(0, commField.offset, commField.offset + commField.size);
  out.set(name, commField.offset);
  new DataView(out.buffer, out.byteOffset).setInt32(lenField.offset, name.length + 1, true);
  return out;
}
