/**
 * The run-time side of a loader program (libbpf's light skeleton, `skel_internal.h`): create the
 * map holding its data, load the `BPF_PROG_TYPE_SYSCALL` program that replays a whole load through
 * `bpf_sys_bpf()`, run it once with a context that carries the caller's inputs (map sizes, initial
 * values, log settings), and collect the fds it made.
 *
 * Everything this module sends was encoded when the loader program was generated (each `bpf_attr`
 * with the offsets to fill in), so it needs no layouts, no ELF, no BTF and no relocation code: it
 * imports only the syscall primitive and the kernel's constants, and loading a generated loader
 * program pulls in nothing else of @x.
 *
 * @packageDocumentation
 */
import { BpfCmd, commandName } from "./abi/consts.js";
import { Errno, errnoName } from "./abi/errno.js";
import { addressOf, strerror, sysBpf, sysClose } from "./native.js";

/** A `bpf_attr` encoded at generation time, and where the run fills in fds, addresses and sizes. */
export interface AttrTemplate {
  readonly bytes: Uint8Array;
  /** Field name → byte offset in `bytes`. */
  readonly at: Readonly<Record<string, number>>;
}

/** Where the loader program reads and writes its context (`struct bpf_loader_ctx` and what follows it, as in libbpf). */
export interface LoaderContextLayout {
  /** Total size of the context. */
  readonly size: number;
  /** `struct bpf_map_desc[]`: `{ int map_fd; __u32 max_entries; __aligned_u64 initial_value; }` per map. */
  readonly maps: number;
  /** `struct bpf_prog_desc[]`: `{ int prog_fd; }` per program. */
  readonly programs: number;
  /** `__u32`: the step that failed (valid when the program returns a negative errno). */
  readonly failedStep: number;
  /** `int`: the object's BTF fd (0 when the object has no BTF). */
  readonly btfFd: number;
  /** `int[]`: module BTF fds the kfunc lookups opened, closed once the programs are loaded. */
  readonly externFds: number;
  /** How many `externFds` slots there are. */
  readonly externFdCount: number;
}

/** A map the loader program creates. */
export interface LoaderProgramMap {
  readonly name: string;
  /** The data section it holds (`.rodata`, `.bss`…), for a section's map: run options may name it so. */
  readonly section?: string;
  /** Map type (see `MapType`). */
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  /** `max_entries` when the caller does not override it. */
  readonly maxEntries: number;
  readonly flags: number;
  /** Size of its initial value (a data section's image), when the load writes one; the caller may pass another of this size. */
  readonly initialValueSize?: number;
  /** Frozen after its initial value is written (`.rodata*`, `.kconfig`). */
  readonly frozen: boolean;
}

/** One step of the replayed load, for messages. */
export interface LoaderProgramStep {
  /** What the step makes or resolves, e.g. `map 'counts'`, `program 'classify'`, `extern 'bpf_obj_new_impl'`. */
  readonly what: string;
  /** The bpf(2) command (none for a helper that is not one, such as a BTF lookup). */
  readonly command?: number;
  /** The helper, when the step is not a bpf(2) command. */
  readonly helper?: string;
  readonly map?: string;
  readonly program?: string;
}

/** A generated loader program: its instructions, its data, and how to run it. */
export interface LoaderProgram {
  /** Format version of this description. */
  readonly format: 1;
  /** The object it loads. */
  readonly object: string;
  /** The `BPF_PROG_TYPE_SYSCALL` program. */
  readonly insns: Uint8Array;
  /** Its data: every attr, BTF, instructions, initial value and lookup name, laid out as it reads them. */
  readonly data: Uint8Array;
  readonly ctx: LoaderContextLayout;
  readonly maps: readonly LoaderProgramMap[];
  readonly programs: readonly { readonly name: string; readonly type: number }[];
  readonly steps: readonly LoaderProgramStep[];
  /** `BPF_PROG_BIND_MAP`s to make from user space after the run (the helper cannot): `[program index, map index]`. */
  readonly binds: readonly (readonly [number, number])[];
  /** The attrs of this side's own calls. */
  readonly attrs: {
    readonly dataMapCreate: AttrTemplate;
    readonly dataMapUpdate: AttrTemplate;
    readonly progLoad: AttrTemplate;
    readonly testRun: AttrTemplate;
    readonly bindMap: AttrTemplate;
  };
}

/** Inputs of one run (see {@link runLoaderProgram}). */
export interface LoaderRunOptions {
  /** Per map, by name or data section: a new `max_entries`, and/or an initial value of the map's `initialValueSize` bytes. */
  readonly maps?: Readonly<Record<string, { readonly maxEntries?: number; readonly initialValue?: Uint8Array }>>;
  /**
   * Verifier log level for every program (0: a log only on failure: the run is then repeated at level
   * 1 to get it, everything the first run made already closed).
   */
  readonly logLevel?: number;
  /** Log buffer size when a log is collected (default 16 MiB). */
  readonly logSize?: number;
}

/** What a successful run made: fds this process now owns, closed together by `close()` / `using`. */
export interface LoaderProgramResult extends Disposable {
  /** Map fds, by map name. */
  readonly maps: ReadonlyMap<string, number>;
  /** Program fds, by program name. */
  readonly programs: ReadonlyMap<string, number>;
  /** The object's BTF fd, when it has BTF. */
  readonly btf: number | undefined;
  /** The log of the run (with a log level above 0). */
  readonly log?: string;
  /** Bindings the kernel refused (a kernel without `BPF_PROG_BIND_MAP`), as messages. */
  readonly warnings: readonly string[];
  /** Close every fd; later calls do nothing. */
  close(): void;
  /** Hand the fds over: `close()` no longer closes them (the caller took ownership). */
  release(): void;
}

/** Stable codes of {@link LoaderProgramError}. */
export type LoaderProgramErrorCode =
  /** A user-space step of the run failed (the data map, the loader program's own load, its test run). */
  | "LOADER_PROGRAM_RUN"
  /** A step inside the loader program failed: `step` says which, `errnoName` how. */
  | "LOADER_PROGRAM_STEP"
  /** The caller's inputs do not fit the loader program (an unknown map, an initial value of the wrong size). */
  | "LOADER_PROGRAM_INPUT";

/** A failed run: the step, the kernel's errno and, for a rejected program, the verifier's log. */
export class LoaderProgramError extends Error {
  readonly code: LoaderProgramErrorCode;
  /** Index of the failed step in `LoaderProgram.steps` (for `LOADER_PROGRAM_STEP`). */
  readonly step?: number;
  /** The failed step. */
  readonly stepInfo?: LoaderProgramStep;
  /** The command that failed, e.g. `BPF_MAP_CREATE`. */
  readonly command?: string;
  readonly errno?: number;
  readonly errnoName?: string;
  /** The verifier (or BTF) log, when the kernel wrote one. */
  readonly log?: string;

  constructor(code: LoaderProgramErrorCode, message: string, details: { step?: number; stepInfo?: LoaderProgramStep; command?: string; errno?: number; log?: string } = {}) {
    super(message);
    this.name = "LoaderProgramError";
    this.code = code;
    this.step = details.step;
    this.stepInfo = details.stepInfo;
    this.command = details.command;
    this.errno = details.errno;
    this.errnoName = details.errno === undefined ? undefined : errnoName(details.errno);
    this.log = details.log;
  }

  /** Plain data for `JSON.stringify`. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, step: this.step, command: this.command, errnoName: this.errnoName, log: this.log };
  }
}

const u32 = (b: Uint8Array, off: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(off, v >>> 0, true);
const u64 = (b: Uint8Array, off: number, v: bigint) => new DataView(b.buffer, b.byteOffset).setBigUint64(off, v, true);
const readU32 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);
const readI32 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getInt32(off, true);

/** A template's bytes (a copy), with `fields` written in. */
function fill(t: AttrTemplate, fields: Record<string, number | bigint>): Uint8Array {
  const attr = t.bytes.slice();
  for (const [name, v] of Object.entries(fields)) {
    const at = t.at[name];
    if (at === undefined) throw new Error(`internal: loader program attr has no field '${name}'`);
    if (typeof v === "bigint") u64(attr, at, v);
    else u32(attr, at, v);
  }
  return attr;
}

function call(cmd: number, attr: Uint8Array, what: string): number {
  for (;;) {
    const r = sysBpf(cmd, attr);
    if (r.result >= 0) return r.result;
    if (r.errno === Errno.EINTR || (r.errno === Errno.EAGAIN && cmd === BpfCmd.PROG_LOAD)) continue;
    throw new LoaderProgramError("LOADER_PROGRAM_RUN", `${what}: ${commandName(cmd)} failed: ${errnoName(r.errno)} (${strerror(r.errno)})`, { command: commandName(cmd), errno: r.errno });
  }
}

const LOADER_LICENSE = new TextEncoder().encode("Dual BSD/GPL\0");
const DEFAULT_LOG_SIZE = 16 << 20;

/** The data map and the loaded loader program: created for one run, closed after it. */
function prepare(lp: LoaderProgram, log?: Uint8Array): { dataMap: number; prog: number } {
  const dataMap = call(BpfCmd.MAP_CREATE, lp.attrs.dataMapCreate.bytes.slice(), "the loader program's data map");
  let open = true;
  try {
    const key = new Uint8Array(4);
    call(BpfCmd.MAP_UPDATE_ELEM, fill(lp.attrs.dataMapUpdate, { map_fd: dataMap, key: addressOf(key), value: addressOf(lp.data) }), "the loader program's data");
    const fdArray = Int32Array.of(dataMap);
    const attr = fill(lp.attrs.progLoad, {
      insns: addressOf(lp.insns),
      insn_cnt: lp.insns.byteLength / 8,
      license: addressOf(LOADER_LICENSE),
      fd_array: addressOf(fdArray),
      ...(log ? { log_level: 1, log_size: log.byteLength, log_buf: addressOf(log) } : {}),
    });
    const r = sysBpf(BpfCmd.PROG_LOAD, attr);
    void [key, fdArray];
    if (r.result >= 0) return { dataMap, prog: r.result };
    if (!log) {
      sysClose(dataMap);
      open = false;
      return prepare(lp, new Uint8Array(DEFAULT_LOG_SIZE));
    }
    const text = cString(log);
    const old = r.errno === Errno.EINVAL && (/unknown func bpf_sys_bpf|invalid func unknown#16[678]/.test(text) || text === "");
    // bpf_kallsyms_lookup_name (helper 179) came to syscall programs with 5.16, after the rest (5.14).
    const noKallsyms = r.errno === Errno.EINVAL && /unknown func bpf_kallsyms_lookup_name|invalid func unknown#179\b/.test(text);
    throw new LoaderProgramError(
      "LOADER_PROGRAM_RUN",
      old
        ? `the kernel refused the loader program: loader programs need BPF_PROG_TYPE_SYSCALL and bpf_sys_bpf(), kernel ≥ 5.14 (loader program) (${errnoName(r.errno)})`
        : noKallsyms
          ? `the kernel refused the loader program: its typeless ksyms are looked up with bpf_kallsyms_lookup_name(), kernel ≥ 5.16 (${errnoName(r.errno)})`
          : `the kernel refused the loader program: BPF_PROG_LOAD failed: ${errnoName(r.errno)} (${strerror(r.errno)})${verdict(text)}`,
      { command: "BPF_PROG_LOAD", errno: r.errno, log: text },
    );
  } catch (e) {
    if (open) sysClose(dataMap);
    throw e;
  }
}

/** The verifier's reason (the last line before its statistics), as ": reason", or "". */
function verdict(log: string): string {
  const lines = log.split("\n").map((l) => l.trim()).filter((l) => l && !/^(processed \d+ insns|verification time|stack depth)/.test(l));
  const last = lines.at(-1);
  return last ? `: ${last}` : "";
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
}

/** Every fd the run left in the context (maps, programs, BTF, module BTFs). */
function fdsIn(lp: LoaderProgram, ctx: Uint8Array) {
  const maps = lp.maps.map((_, i) => readI32(ctx, lp.ctx.maps + i * 16));
  const programs = lp.programs.map((_, i) => readI32(ctx, lp.ctx.programs + i * 4));
  const externs = Array.from({ length: lp.ctx.externFdCount }, (_, i) => readI32(ctx, lp.ctx.externFds + i * 4));
  return { maps, programs, externs, btf: readI32(ctx, lp.ctx.btfFd) };
}

function closeAll(fds: readonly number[]): void {
  for (const fd of fds) if (fd > 0) sysClose(fd);
}

/** One run of the loader program; throws with the failed step. */
function runOnce(lp: LoaderProgram, options: LoaderRunOptions, logLevel: number, logSize: number): { ctx: Uint8Array; log?: string } {
  const log = logLevel > 0 ? new Uint8Array(logSize) : undefined;
  const ctx = new Uint8Array(lp.ctx.size);
  u32(ctx, 0, lp.ctx.size);
  if (log) {
    u32(ctx, 8, logLevel);
    u32(ctx, 12, log.byteLength);
    u64(ctx, 16, addressOf(log));
  }
  const keep: Uint8Array[] = [];
  for (const [name, given] of Object.entries(options.maps ?? {})) {
    const i = lp.maps.findIndex((m) => m.name === name || m.section === name);
    const m = lp.maps[i];
    if (!m) throw new LoaderProgramError("LOADER_PROGRAM_INPUT", `the loader program of ${lp.object} creates no map '${name}' (it has ${lp.maps.map((x) => x.name).join(", ") || "none"})`);
    if (given.maxEntries !== undefined) {
      if (!Number.isInteger(given.maxEntries) || given.maxEntries <= 0 || given.maxEntries > 0xffffffff) {
        throw new LoaderProgramError("LOADER_PROGRAM_INPUT", `map '${name}': max_entries ${given.maxEntries} is not a positive 32-bit integer`);
      }
      u32(ctx, lp.ctx.maps + i * 16 + 4, given.maxEntries);
    }
    if (given.initialValue !== undefined) {
      if (m.initialValueSize === undefined || given.initialValue.byteLength !== m.initialValueSize) {
        throw new LoaderProgramError("LOADER_PROGRAM_INPUT", m.initialValueSize === undefined
          ? `map '${name}' has no initial value to replace`
          : `map '${name}': the initial value must be ${m.initialValueSize} bytes, not ${given.initialValue.byteLength}`);
      }
      keep.push(given.initialValue);
      u64(ctx, lp.ctx.maps + i * 16 + 8, addressOf(given.initialValue));
    }
  }
  const { dataMap, prog } = prepare(lp);
  let retval: number;
  try {
    const attr = fill(lp.attrs.testRun, { prog_fd: prog, ctx_in: addressOf(ctx), ctx_size_in: ctx.byteLength });
    call(BpfCmd.PROG_TEST_RUN, attr, "running the loader program");
    retval = readI32(attr, lp.attrs.testRun.at.retval!);
  } finally {
    sysClose(prog);
    sysClose(dataMap);
  }
  void keep;
  const text = log ? cString(log) : undefined;
  if (retval >= 0) return { ctx, log: text };
  const fds = fdsIn(lp, ctx);
  closeAll([...fds.maps, ...fds.programs, ...fds.externs, fds.btf]);
  const step = readU32(ctx, lp.ctx.failedStep);
  const info = lp.steps[step];
  const errno = -retval;
  const command = info?.command !== undefined ? commandName(info.command) : info?.helper;
  throw new LoaderProgramError("LOADER_PROGRAM_STEP", `${info?.what ?? `step ${step}`}: ${command ?? "?"} failed: ${errnoName(errno)} (${strerror(errno)})`, { step, stepInfo: info, command, errno, log: text });
}

/**
 * Run a loader program: the whole load it recorded happens inside the kernel, and the fds it made
 * come back to this process. On failure nothing it made stays open, and the error names the step;
 * a program the verifier rejected comes with its log (the run is repeated at log level 1 for it).
 *
 * @throws {@link LoaderProgramError}
 */
export function runLoaderProgram(lp: LoaderProgram, options: LoaderRunOptions = {}): LoaderProgramResult {
  const logLevel = options.logLevel ?? 0;
  const logSize = options.logSize ?? DEFAULT_LOG_SIZE;
  let run: { ctx: Uint8Array; log?: string };
  try {
    run = runOnce(lp, options, logLevel, logSize);
  } catch (e) {
    const verifier = e instanceof LoaderProgramError && e.code === "LOADER_PROGRAM_STEP" && logLevel === 0 && (e.stepInfo?.command === BpfCmd.PROG_LOAD || e.stepInfo?.command === BpfCmd.BTF_LOAD);
    if (!verifier) throw e;
    // The log of the step that failed: the same run again, logging (what the first one made is closed).
    try {
      runOnce(lp, options, 1, logSize);
    } catch (again) {
      if (again instanceof LoaderProgramError && again.step === e.step) throw again;
    }
    throw e;
  }
  const fds = fdsIn(lp, run.ctx);
  closeAll(fds.externs);
  const warnings: string[] = [];
  for (const [p, m] of lp.binds) {
    const attr = fill(lp.attrs.bindMap, { prog_fd: fds.programs[p]!, map_fd: fds.maps[m]! });
    const r = sysBpf(BpfCmd.PROG_BIND_MAP, attr);
    if (r.result < 0) warnings.push(`program '${lp.programs[p]!.name}': binding map '${lp.maps[m]!.name}' failed: ${errnoName(r.errno)}`);
  }
  let open = true;
  const owned = [...fds.maps, ...fds.programs, fds.btf];
  const result: LoaderProgramResult = {
    maps: new Map(lp.maps.map((m, i) => [m.name, fds.maps[i]!])),
    programs: new Map(lp.programs.map((p, i) => [p.name, fds.programs[i]!])),
    btf: fds.btf > 0 ? fds.btf : undefined,
    ...(run.log !== undefined ? { log: run.log } : {}),
    warnings,
    close() {
      if (open) closeAll(owned);
      open = false;
    },
    release() {
      open = false;
    },
    [Symbol.dispose]() {
      result.close();
    },
  };
  return result;
}

const B64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
const UNB64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

/** A loader program as JSON (byte arrays as base64), for files and for generated modules. */
export function loaderProgramToJson(lp: LoaderProgram): string {
  return JSON.stringify(lp, (_k, v) => (v instanceof Uint8Array ? { base64: B64(v) } : v), 1);
}

/** The loader program a {@link loaderProgramToJson} string describes. */
export function loaderProgramFromJson(json: string | object): LoaderProgram {
  const text = typeof json === "string" ? json : JSON.stringify(json);
  const lp = JSON.parse(text, (_k, v) => (v && typeof v === "object" && typeof v.base64 === "string" && Object.keys(v).length === 1 ? UNB64(v.base64) : v)) as LoaderProgram;
  if (lp.format !== 1 || !(lp.insns instanceof Uint8Array) || !(lp.data instanceof Uint8Array)) {
    throw new LoaderProgramError("LOADER_PROGRAM_INPUT", `not a loader program description of format 1 (format: ${String((lp as { format?: unknown }).format)})`);
  }
  return lp;
}
