/**
 * Kernel modules for kernel tests: load one with its dependencies, and find its own (split) BTF.
 *
 *   const m = moduleForTest("nf_conntrack", { btf: true }); // in a kernel test
 *   if (!m) return; // outside the VM matrix only: see moduleForTest
 *
 * Modules are found through `XBPF_MODULES_DIR` (the runner of the VM matrix sets it in each guest to the
 * cached Debian kernel tree, `TREE/lib/modules/KVER`, reachable over the guest's 9p root), else
 * `/lib/modules/$(uname -r)`. Dependencies come from `modules.dep` (and the `pre:` soft dependencies
 * from `modules.softdep`, best effort), and each file is inserted with finit_module(2): no modprobe,
 * insmod or busybox needed, and the modules must be uncompressed (the runner's trees are).
 *
 * Kernel test files use Node and the @x packages only (they run in the VM matrix too): so does this.
 */
import { closeSync, constants, existsSync, openSync, readFileSync, readSync } from "node:fs";
import { release } from "node:os";
import { basename, join } from "node:path";
import { btfGetFdById, btfGetNextId, btfInfo, compareKernelVersions, Errno, errnoName, parseKernelVersion, UnsupportedFeatureError } from "@x/sys";
import { koffi } from "../src/native.js";

/** A module that is there: loaded now or before, or built into the kernel. */
export interface LoadedModule {
  loaded: true;
  name: string;
  /** Built into the kernel: nothing to load, and no BTF of its own (its BTF is part of vmlinux's). */
  builtin: boolean;
  /** The modules this call inserted, dependencies first (empty when all were there already). */
  inserted: string[];
  /** `/sys/kernel/btf/NAME` when the module has its own BTF (split BTF on top of vmlinux's). */
  btf?: string;
  /** Why `btf` is missing, when it is. */
  noBtf?: string;
  /** Soft dependencies that could not be loaded (the module loaded without them). */
  notes: string[];
}

/** A module this kernel cannot have here: `reason` says why, `needs` what it would take. */
export interface MissingModule {
  loaded: false;
  name: string;
  reason: string;
  /** Feature name for the matrix (`kernel_modules`, or `NAME.ko` when it is this module that is missing). */
  feature: string;
  /** What the kernel would need, e.g. `CONFIG_MODULES=y`. */
  needs: string;
}

export type ModuleLoad = LoadedModule | MissingModule;

/**
 * An {@link UnsupportedFeatureError} whose requirement is a kernel configuration, not a version: its
 * message ends in `(needs REQUIREMENT)` instead of `(needs Linux MIN or newer)`, which the matrix
 * (test-vm/lib/classify.mjs) reports as `unsupported: FEATURE needs REQUIREMENT`.
 */
export class KernelConfigError extends UnsupportedFeatureError {
  constructor(
    feature: string,
    /** What the kernel needs, e.g. `CONFIG_MODULES=y`. */
    readonly requirement: string,
    description: string,
  ) {
    super(feature, requirement, description);
    this.name = "UnsupportedFeatureError"; // what the matrix and readers look for
    this.message = `the running kernel does not support ${feature}: ${description} (needs ${requirement})`;
    Error.captureStackTrace?.(this, KernelConfigError);
  }
}

/** A module that exists for this kernel but failed to load: a real failure, not a missing feature. */
export class ModuleLoadError extends Error {
  override name = "ModuleLoadError";
}

/** The module name of a file or name: no folder, no `.ko[.xz|.zst|.gz]`, `-` as `_` (as /sys/module has it). */
export function moduleName(pathOrName: string): string {
  return basename(pathOrName).replace(/\.ko(\.(xz|zst|gz))?$/, "").replace(/-/g, "_");
}

/** The files of a module tree, as read from `modules.dep`, `modules.builtin`, `modules.softdep`, `modules.alias`. */
export interface ModuleIndex {
  dir: string;
  /** Module name → its file (absolute) and the names of every module it depends on. */
  deps: Map<string, { path: string; deps: string[] }>;
  builtin: Set<string>;
  softdeps: Map<string, { pre: string[]; post: string[] }>;
  /** `alias PATTERN MODULE` lines, read on first use. */
  aliases: () => Alias[];
}

/** `modules.dep` ("kernel/a.ko: kernel/b.ko kernel/c.ko") with paths made absolute under `dir`. */
export function parseModulesDep(text: string, dir: string): ModuleIndex["deps"] {
  const deps: ModuleIndex["deps"] = new Map();
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    const file = line.slice(0, i).trim();
    deps.set(moduleName(file), {
      path: file.startsWith("/") ? file : join(dir, file),
      deps: line.slice(i + 1).split(/\s+/).filter(Boolean).map(moduleName),
    });
  }
  return deps;
}

/** `modules.softdep` ("softdep libcrc32c pre: crc32c post: x"). */
export function parseSoftdeps(text: string): ModuleIndex["softdeps"] {
  const out: ModuleIndex["softdeps"] = new Map();
  for (const line of text.split("\n")) {
    const w = line.trim().split(/\s+/);
    if (w[0] !== "softdep" || !w[1]) continue;
    const entry = { pre: [] as string[], post: [] as string[] };
    let into: string[] | undefined;
    for (const word of w.slice(2)) {
      if (word === "pre:") into = entry.pre;
      else if (word === "post:") into = entry.post;
      else into?.push(word);
    }
    out.set(moduleName(w[1]), entry);
  }
  return out;
}

/** One `alias PATTERN MODULE` line; `matches` tests a name against the pattern (a shell glob). */
export interface Alias {
  pattern: string;
  module: string;
  matches: (name: string) => boolean;
}

/** `modules.alias` ("alias crc32c crc32c_generic"). Most patterns are device globs: compiled only when needed. */
export function parseAliases(text: string): Alias[] {
  const out: Alias[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("alias ")) continue;
    const [, pattern, module] = line.trim().split(/\s+/);
    if (!pattern || !module) continue;
    const glob = pattern.search(/[*?[]/);
    const prefix = glob < 0 ? pattern : pattern.slice(0, glob);
    let re: RegExp | undefined;
    const matches = (name: string) => {
      if (!name.startsWith(prefix)) return false;
      if (glob < 0) return name === pattern;
      re ??= new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".").replace(/\[!/g, "[^")}$`);
      return re.test(name);
    };
    out.push({ pattern, module: moduleName(module), matches });
  }
  return out;
}

/** The module tree of `dir`, or why there is none. */
export function readModuleIndex(dir: string): ModuleIndex | string {
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), "utf8") : "");
  if (!existsSync(join(dir, "modules.dep"))) return `no ${join(dir, "modules.dep")}`;
  let aliases: Alias[] | undefined;
  return {
    dir,
    deps: parseModulesDep(read("modules.dep"), dir),
    builtin: new Set(read("modules.builtin").split("\n").filter(Boolean).map(moduleName)),
    softdeps: parseSoftdeps(read("modules.softdep")),
    aliases: () => (aliases ??= parseAliases(read("modules.alias"))),
  };
}

/** Module names a name or alias stands for in `index` (a module name first, else every alias match). */
export function resolveModule(index: ModuleIndex, nameOrAlias: string): string[] {
  const n = moduleName(nameOrAlias);
  if (index.deps.has(n) || index.builtin.has(n)) return [n];
  const found = index.aliases().filter((a) => a.matches(nameOrAlias) && (index.deps.has(a.module) || index.builtin.has(a.module)));
  return [...new Set(found.map((a) => a.module))];
}

/** One insertion of a load plan; `optional` for soft dependencies (and what only they pull in). */
export interface PlanStep {
  name: string;
  path: string;
  optional: boolean;
}

/**
 * The modules to insert for `name`, dependencies first: each module's `pre:` soft dependencies
 * (optional), then its dependencies from modules.dep (each with its own, depth first), then itself.
 * Built-in modules are left out.
 */
export function loadPlan(index: ModuleIndex, name: string): PlanStep[] {
  const plan: PlanStep[] = [];
  const seen = new Set<string>();
  const visit = (n: string, optional: boolean) => {
    if (seen.has(n) || index.builtin.has(n)) return;
    const entry = index.deps.get(n);
    if (!entry) return;
    seen.add(n);
    for (const soft of index.softdeps.get(n)?.pre ?? []) for (const m of resolveModule(index, soft)) visit(m, true);
    for (const d of entry.deps) visit(d, optional);
    plan.push({ name: n, path: entry.path, optional });
  };
  visit(name, false);
  return plan;
}

/** Where this kernel's modules are: `XBPF_MODULES_DIR`, else `/lib/modules/KVER`; or why none. */
export function modulesDir(env: NodeJS.ProcessEnv = process.env, kver = release()): { dir: string } | { reason: string } {
  const given = env.XBPF_MODULES_DIR;
  if (given) {
    if (basename(given) !== kver) return { reason: `XBPF_MODULES_DIR is ${given}, not the modules of the running kernel ${kver}` };
    return existsSync(join(given, "modules.dep")) ? { dir: given } : { reason: `XBPF_MODULES_DIR has no modules.dep (${given})` };
  }
  for (const d of [`/lib/modules/${kver}`, `/usr/lib/modules/${kver}`]) if (existsSync(join(d, "modules.dep"))) return { dir: d };
  return { reason: `no module files for ${kver} (no /lib/modules/${kver}/modules.dep, and XBPF_MODULES_DIR is not set)` };
}

/** "live", "coming" or "going" for a loadable module, "builtin" for a built-in one /sys/module shows, else undefined. */
function moduleState(name: string): string | undefined {
  try {
    return readFileSync(`/sys/module/${name}/initstate`, "utf8").trim();
  } catch {
    return existsSync(`/sys/module/${name}`) ? "builtin" : undefined;
  }
}

const isLoaded = (name: string) => {
  const s = moduleState(name);
  return s === "live" || s === "coming" || s === "builtin";
};

/** `__NR_finit_module` per architecture. */
const SYS_FINIT_MODULE: Partial<Record<string, number>> = { x64: 313, arm64: 273 };
let finitFn: ((...args: unknown[]) => unknown) | undefined;

/** finit_module(2) of a file: 0 or the errno. */
function finitModule(path: string): number {
  const nr = SYS_FINIT_MODULE[process.arch];
  if (nr === undefined) throw new Error(`no finit_module(2) syscall number for ${process.arch}`);
  const k = koffi();
  finitFn ??= k.load("libc.so.6").func("long syscall(long nr, long fd, const char *args, long flags)") as (...args: unknown[]) => unknown;
  const fd = openSync(path, "r");
  try {
    return Number(finitFn(nr, fd, "", 0)) < 0 ? k.errno() : 0;
  } finally {
    closeSync(fd);
  }
}

/** The last kernel log lines (from /dev/kmsg) that mention one of `names`, for a failed insertion. */
function kernelLog(names: string[], max = 8): string[] {
  let fd: number;
  try {
    fd = openSync("/dev/kmsg", constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return [];
  }
  const lines: string[] = [];
  const buf = Buffer.alloc(8192);
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EPIPE") continue; // records overwritten while reading
        break; // EAGAIN: the end
      }
      if (n <= 0) break;
      const rec = buf.toString("utf8", 0, n);
      const msg = rec.slice(rec.indexOf(";") + 1).split("\n")[0] ?? "";
      if (names.some((m) => msg.includes(m))) lines.push(msg);
    }
  } finally {
    closeSync(fd);
  }
  return lines.slice(-max);
}

function btfOf(name: string, kver: string): { btf: string } | { noBtf: string } {
  const path = `/sys/kernel/btf/${name}`;
  if (existsSync(path)) return { btf: path };
  if (!existsSync("/sys/kernel/btf/vmlinux")) return { noBtf: `no ${path}: this kernel has no BTF at all (no /sys/kernel/btf/vmlinux)` };
  const old = compareKernelVersions(parseKernelVersion(kver), "5.11") < 0;
  return { noBtf: `no ${path}: ${old ? "module BTF came with Linux 5.11" : "this kernel is built without CONFIG_DEBUG_INFO_BTF_MODULES"}` };
}

/**
 * Make module `name` (a module name or an alias) present in the running kernel, inserting it and its
 * dependencies when needed (idempotent: a loaded or built-in module is fine). Answers
 * `{ loaded: false, reason }` when this kernel cannot have it here (no loadable module support, no module
 * files for this kernel, no such module, module loading forbidden); throws {@link ModuleLoadError} when the
 * module exists but the kernel refused it (with the kernel's log lines about it).
 */
export function loadKernelModule(name: string, opts: { env?: NodeJS.ProcessEnv } = {}): ModuleLoad {
  const kver = release();
  const n = moduleName(name);
  const missing = (reason: string, needs: string, feature = "kernel_modules"): MissingModule => ({ loaded: false, name: n, reason, feature, needs });
  const present = (mod: string, builtin: boolean, inserted: string[] = [], notes: string[] = []): LoadedModule => ({
    loaded: true,
    name: mod,
    builtin,
    inserted,
    ...(builtin ? { noBtf: `${mod} is built into the kernel: its BTF is part of /sys/kernel/btf/vmlinux` } : btfOf(mod, kver)),
    notes,
  });
  const state = moduleState(n);
  if (state === "live" || state === "coming") return present(n, false);
  if (state === "builtin") return present(n, true);
  const noModules = !existsSync("/proc/modules");
  const where = modulesDir(opts.env ?? process.env, kver);
  const index = "dir" in where ? readModuleIndex(where.dir) : where.reason;
  if (typeof index !== "string" && index.builtin.has(n)) return present(n, true);
  if (noModules) {
    return missing(`this kernel (${kver}) has no loadable module support (no /proc/modules), and ${n} is not built in`, "CONFIG_MODULES=y");
  }
  if (typeof index === "string") return missing(`cannot load ${n}: ${index}`, `the module files of ${kver}`);
  const targets = resolveModule(index, name);
  if (targets.length === 0) return missing(`${kver} has no module ${name} (not in ${index.dir}/modules.dep, modules.builtin or modules.alias)`, `a kernel built with ${n}`, `${n}.ko`);
  const target = targets[0]!;
  if (index.builtin.has(target) || moduleState(target) === "builtin") return present(target, true);
  if (isLoaded(target)) return present(target, false);
  if (readFileSync("/proc/sys/kernel/modules_disabled", "utf8").trim() === "1") {
    return missing(`module loading is disabled on this kernel (kernel.modules_disabled=1): cannot load ${target}`, "kernel.modules_disabled=0");
  }
  const inserted: string[] = [];
  const notes: string[] = [];
  for (const step of loadPlan(index, target)) {
    if (isLoaded(step.name)) continue;
    const errno = finitModule(step.path);
    if (errno === 0 || (errno === Errno.EEXIST && isLoaded(step.name))) {
      if (errno === 0) inserted.push(step.name);
      continue;
    }
    const why = `finit_module(${step.path}) failed: ${errnoName(errno)}`;
    if (step.optional) {
      notes.push(`soft dependency ${step.name} not loaded: ${why}`);
      continue;
    }
    if (errno === Errno.EPERM) return missing(`cannot load ${target} here: ${why} (no CAP_SYS_MODULE, or kernel lockdown)`, "CAP_SYS_MODULE");
    const log = kernelLog([step.name, target]);
    throw new ModuleLoadError(`loading ${target}: ${why}${log.length ? `; kernel log:\n  ${log.join("\n  ")}` : ""}`);
  }
  return present(target, false, inserted, notes);
}

/**
 * {@link loadKernelModule} for a test that needs `name` as a loadable module (and, with `btf`, with its own
 * BTF in /sys/kernel/btf, the split BTF a program's kfunc calls into the module refer to through
 * fd_array): throws {@link UnsupportedFeatureError} when this kernel cannot give that (no module support,
 * the module built in or missing, no module BTF), which the VM matrix records as an unsupported cell.
 */
export function requireKernelModule(name: string, opts: { btf?: boolean; env?: NodeJS.ProcessEnv } = {}): LoadedModule {
  const r = loadKernelModule(name, opts);
  if (!r.loaded) throw new KernelConfigError(r.feature, r.needs, r.reason);
  if (r.builtin) {
    const why = existsSync("/proc/modules") ? "" : ", and this kernel has no loadable module support (no /proc/modules)";
    throw new KernelConfigError(`${r.name}.ko`, `${r.name} built as a module`, `${r.noBtf}${why}`);
  }
  if (opts.btf && !r.btf) {
    const description = `${r.name} is loaded but has no BTF of its own: ${r.noBtf}`;
    if (compareKernelVersions(parseKernelVersion(release()), "5.11") < 0) throw new UnsupportedFeatureError("module_btf", "5.11", description);
    throw new KernelConfigError("module_btf", "CONFIG_DEBUG_INFO_BTF_MODULES=y", description);
  }
  return r;
}

/** The id of module `name`'s BTF object (BPF_BTF_GET_NEXT_ID), for a BTF fd in fd_array; undefined if none. */
export function moduleBtfId(name: string): number | undefined {
  for (let id = btfGetNextId(0); id !== undefined; id = btfGetNextId(id)) {
    let info: ReturnType<typeof btfInfo>;
    try {
      using fd = btfGetFdById(id);
      info = btfInfo(fd);
    } catch {
      continue; // gone meanwhile
    }
    if (info.kernelBtf && info.name === name) return id;
  }
  return undefined;
}
