/**
 * Helpers for the interop tests (`*.interop.test.ts`): the reference tools bpftool (with Debian's
 * libbpf) and llvm-readelf-19, run on the host as root. Never imported by `*.kernel.test.ts` files,
 * which must run in VMs without these tools.
 *
 * As for kernel tests, a missing tool skips with a warning outside CI and fails loudly in CI.
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { haveBpffs, haveKernel } from "./kernel.js";

function toolProblem(): string | undefined {
  if (!haveKernel || !haveBpffs()) return "no kernel access or bpffs";
  for (const [tool, arg] of [["bpftool", "version"], ["llvm-readelf-19", "--version"]] as const) {
    const r = spawnSync(tool, [arg], { encoding: "utf8" });
    if (r.error || r.status !== 0) return `${tool} is not usable (${r.error?.message ?? r.stderr.trim()}); run bash tools/setup.sh`;
  }
  return undefined;
}

const problem = toolProblem();
if (problem && process.env.CI) throw new Error(`interop tests cannot run in CI: ${problem}. Refusing to skip silently.`);
if (problem) console.warn(`[@x/loader] skipping interop tests: ${problem}`);

/** True when the reference tools and the kernel are usable. Use with `describe.runIf(haveReference)`. */
export const haveReference = problem === undefined;

/** Run bpftool with `-j` and parse its JSON output. Throws with bpftool's stderr on failure. */
export function bpftoolJson<T = unknown>(...args: string[]): T {
  return JSON.parse(bpftool("-j", ...args)) as T;
}

/** Run bpftool; returns stdout. Throws with bpftool's stderr on failure. */
export function bpftool(...args: string[]): string {
  const r = spawnSync("bpftool", args, { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`bpftool ${args.join(" ")} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** {@link bpftoolJson}, asynchronously: run several at once (`prog dump xlated` takes ~0.2 s each). */
export async function bpftoolJsonAsync<T = unknown>(...args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)("bpftool", ["-j", ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as T;
}

/** Run a command and return stdout. */
export function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20 });
}

/** `bpftool -j map show` output for one map. */
export interface BpftoolMap {
  id: number; type: string; name: string; flags: number; bytes_key: number; bytes_value: number;
  max_entries: number; frozen: number; btf_id?: number;
}

/** `bpftool -j prog show` output for one program. */
export interface BpftoolProg {
  id: number; type: string; name: string; tag: string; gpl_compatible: boolean; bytes_xlated: number;
  map_ids?: number[]; btf_id?: number;
}

/** One instruction of `bpftool -j prog dump xlated`. */
export interface XlatedInsn { disasm: string; src?: string; proto?: string; [k: string]: unknown }
