/**
 * Loading an object: BTF → maps (initial images written, read-only sections frozen) → programs
 * (linked, relocated, with func/line info) → metadata binding → mmap of data sections.
 * Every failure closes everything made so far.
 */
import { mkdirSync, rmSync } from "node:fs";
import { type Btf, btfExtStrings, patchDatasecsInPlace, type BtfExtFuncInfo, type BtfExtLineInfo, BpfFuncInfoLayout, BpfLineInfoLayout } from "@x/btf";
import { encodeInstructions, linkProgram, patchMapReferences, rebaseExtInfo, type LinkedProgram } from "@x/reloc";
import {
  AttachType, BpfSyscallError, type BtfFd, btfLoad, hasFeature, kernelVersion, MapFlags, type MapFd, mapCreate, mapFreeze,
  mapInfo, mapUpdate, MapType, objGet, objPin, ProgFlags, type ProgFd, progBindMap, progLoad, ProgType,
  UnsupportedFeatureError, MapFd as MapFdClass, probeAttachType, probeProgType,
} from "@x/sys";
import { btfNeeds, btfRefused, describeSanitized, explainMapFailure, explainProgramFailure, planBtf } from "./adapt.js";
import { MAP_TYPES_WITHOUT_BTF } from "./btf-maps.js";
import { LoadError, ObjectError } from "./errors.js";
import { kernelTypeId } from "./kernel-btf.js";
import { LoadedMap, LoadedObject, LoadedProgram } from "./loaded.js";
import { kernelObjectName } from "./names.js";
import { possibleCpus } from "./cpus.js";
import { Resources } from "./resources.js";
import type { MapSpec, ObjectSpec, ProgramSpec } from "./spec.js";

/** Options for {@link loadObject}. */
export interface LoadOptions {
  /** Load only these programs (default: every program whose section is not `?`-prefixed). */
  readonly programs?: readonly string[];
  /** Directory for maps declared with `__uint(pinning, LIBBPF_PIN_BY_NAME)` (default `/sys/fs/bpf`, like libbpf). */
  readonly pinRoot?: string;
  /** Verifier log level for every program (0: a log only on failure). */
  readonly logLevel?: number;
  /** Called with warnings (BTF refused by the kernel, binding failures); default: ignored. */
  readonly warn?: (message: string) => void;
}

const LIBBPF_PIN_BY_NAME = 1;
const ROOT_PIN_DIR = "/sys/fs/bpf";

/**
 * Load `spec` into the kernel. The spec's variable values at this moment become the maps' initial
 * contents; `.rodata*` maps are frozen before any program loads so the verifier can use the constants.
 *
 * @throws {@link LoadError} naming the map or program that failed, with the verifier log attached.
 */
export function loadObject(spec: ObjectSpec, options: LoadOptions = {}): LoadedObject {
  const res = new Resources();
  const warn = options.warn ?? (() => {});
  // Pins this load made (not reused ones): a failed load removes them again, as libbpf does.
  const madePins: string[] = [];
  try {
    requireHostByteOrder(spec);
    const programs = selectPrograms(spec, options.programs);
    const linked = programs.map((p) => link(spec, p));
    requireGlobalData(linked);
    const btf = loadBtf(spec, res, warn);
    const maps = new Map<string, LoadedMap>();
    for (const m of spec.maps) maps.set(m.name, createMap(spec, m, btf?.fd, res, options.pinRoot ?? ROOT_PIN_DIR, madePins));
    const loaded = new Map<string, LoadedProgram>();
    for (const [i, p] of programs.entries()) {
      const fd = loadProgram(spec, p, linked[i]!, maps, btf, options.logLevel ?? 0, res);
      bindReadOnlyMaps(fd, p, maps, warn);
      loaded.set(p.name, new LoadedProgram(p, fd));
    }
    for (const m of maps.values()) m.map(res);
    return new LoadedObject(spec, maps, loaded, btf?.fd, res);
  } catch (e) {
    for (const path of madePins) {
      try {
        rmSync(path, { force: true });
      } catch {
        // Best effort, as libbpf: the load error is what the caller needs to see.
      }
    }
    res.dispose();
    throw e;
  }
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Objects of the other byte order can be opened, inspected and patched, but the kernel only runs its own (libbpf too). */
function requireHostByteOrder(spec: ObjectSpec): void {
  if (spec.elf.littleEndian === HOST_LITTLE_ENDIAN) return;
  const order = (le: boolean) => (le ? "little-endian (bpfel)" : "big-endian (bpfeb)");
  throw new ObjectError("OBJECT_UNSUPPORTED_PROGRAM", `${spec.name} is ${order(spec.elf.littleEndian)}, but this kernel is ${order(HOST_LITTLE_ENDIAN)}: compile it with -target bpf (or bpfel) to load it here`);
}

function selectPrograms(spec: ObjectSpec, names: readonly string[] | undefined): ProgramSpec[] {
  const chosen = names ? names.map((n) => spec.program(n)) : spec.programs.filter((p) => p.autoload);
  for (const p of chosen) {
    if (!p.kind) throw new ObjectError("OBJECT_UNSUPPORTED_PROGRAM", `program '${p.name}': section '${p.section}' names no known program type`, { program: p.name, section: p.section });
    if (p.kind.unsupported) throw new ObjectError("OBJECT_UNSUPPORTED_PROGRAM", `program '${p.name}' (${p.section}): ${p.kind.unsupported}`, { program: p.name, section: p.section });
  }
  return chosen;
}

/** Linked programs per spec: linking is pure, so reloading a spec (the template workflow) does it once. */
const linkedPrograms = new WeakMap<ObjectSpec, Map<string, LinkedProgram>>();

function link(spec: ObjectSpec, p: ProgramSpec): LinkedProgram {
  let cache = linkedPrograms.get(spec);
  if (!cache) linkedPrograms.set(spec, (cache = new Map()));
  let linked = cache.get(p.name);
  if (!linked) {
    // Patching copies the instructions (patchMapReferences returns new ones), so the cached link stays pristine.
    linked = linkProgram(spec.elf, p.name, spec.relocations, { programs: spec.functions });
    cache.set(p.name, linked);
  }
  const ext = linked.relocations.find((r) => r.kind === "extern-ld64" || r.kind === "extern-call");
  if (ext) {
    throw new ObjectError("OBJECT_UNSUPPORTED_PROGRAM", `program '${p.name}' uses extern '${ext.externName ?? ext.symbol}' (kconfig/ksym/kfunc externs are not supported yet)`, { program: p.name });
  }
  return linked;
}

/** Without global data support the verifier would reject the program obscurely: say what is missing instead. */
function requireGlobalData(linked: readonly LinkedProgram[]): void {
  for (const l of linked) {
    const data = l.relocations.find((r) => r.kind === "data");
    if (data && !hasFeature("global_data")) {
      throw new UnsupportedFeatureError("global_data", "5.2", `program '${l.name}' uses global variable '${data.symbol}' (${data.targetSection}), which needs kernel ≥ 5.2 (global data)`);
    }
  }
}

interface LoadedBtf {
  fd: BtfFd;
  stringOffset(s: string): number | undefined;
}

/** The BTF bytes a spec loads with, prepared once per spec (the probes they depend on are per process too). */
interface PreparedBtf {
  readonly bytes: Uint8Array;
  stringOffset(s: string): number | undefined;
  readonly needs: readonly string[];
  readonly warnings: readonly string[];
}
const prepared = new WeakMap<ObjectSpec, PreparedBtf | { skip: string }>();

function prepareBtf(spec: ObjectSpec, btf: Btf): PreparedBtf | { skip: string } {
  let p = prepared.get(spec);
  if (p) return p;
  // Probes (cached) decide: sanitise for the BTF kinds this kernel lacks, or do without BTF when the object can.
  const needs = btfNeeds(btf, spec.maps);
  const plan = planBtf(btf, needs, { has: hasFeature });
  if (plan.action === "skip") {
    p = { skip: plan.warning };
  } else {
    const sanitized = describeSanitized(plan);
    const out = markHiddenSubprogramsStatic(plan.btf, plan.btf !== btf, spec);
    // Unchanged types (the usual case on a current kernel): the object's own bytes with the DATASEC
    // fix-up written in, as libbpf sends them; otherwise encode the edited table.
    const enc = (out === btf ? patchDatasecsInPlace(btf, spec.elf.section(".BTF")!.data) : undefined)
      ?? out.encodeWithStrings({ extraStrings: spec.btfExt ? btfExtStrings(spec.btfExt) : [] });
    p = { bytes: enc.bytes, stringOffset: (s) => enc.stringOffset(s), needs, warnings: sanitized ? [sanitized] : [] };
  }
  prepared.set(spec, p);
  return p;
}

/**
 * libbpf `sanitize_and_load_btf`: a global function the object hides (`__hidden`, STV_HIDDEN) is a
 * static subprogram to the verifier, so its BTF FUNC must say static linkage too.
 */
function markHiddenSubprogramsStatic(btf: Btf, owned: boolean, spec: ObjectSpec): Btf {
  const hidden = new Set(spec.subprograms.filter((f) => f.global && f.hidden).map((f) => f.name));
  if (!hidden.size) return btf;
  // Never edit the spec's own BTF: it is what the object says, and what a patched file keeps.
  const out = owned ? btf : btf.clone();
  for (const t of out.types) if (t.kind === "FUNC" && t.linkage === "global" && hidden.has(t.name)) t.linkage = "static";
  return out;
}

function loadBtf(spec: ObjectSpec, res: Resources, warn: (m: string) => void): LoadedBtf | undefined {
  if (!spec.btf) return undefined;
  const p = prepareBtf(spec, spec.btf);
  if ("skip" in p) {
    warn(p.skip);
    return undefined;
  }
  for (const w of p.warnings) warn(w);
  try {
    return { fd: res.add(btfLoad(p.bytes)), stringOffset: p.stringOffset };
  } catch (e) {
    // As libbpf: BTF is optional unless the object needs it; carry on without it.
    if (!(e instanceof BpfSyscallError)) throw e;
    const r = btfRefused(p.needs, `${e.errnoName}${e.log ? `:\n${e.log}` : ""}`);
    if ("error" in r) {
      r.error.cause = e;
      throw r.error;
    }
    warn(r.warning);
    return undefined;
  }
}

function createMap(spec: ObjectSpec, m: MapSpec, btfFd: BtfFd | undefined, res: Resources, pinRoot: string, madePins: string[]): LoadedMap {
  const pinPath = m.pinning === LIBBPF_PIN_BY_NAME ? `${pinRoot}/${m.name}` : undefined;
  if (pinPath) {
    const reused = reusePinned(m, pinPath, res);
    if (reused) return new LoadedMap(m, reused, spec.btf, pinPath);
  }
  let flags = m.flags;
  if (m.mmapable && hasFeature("array_mmap")) flags |= MapFlags.BPF_F_MMAPABLE;
  if (m.origin !== "btf" && !hasFeature("rdonly_prog")) flags &= ~MapFlags.BPF_F_RDONLY_PROG;
  const base = {
    type: m.type,
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: effectiveMaxEntries(m),
    flags,
    numaNode: m.numaNode,
    mapExtra: m.mapExtra,
    name: hasFeature("prog_name") ? kernelObjectName(m.name) : undefined,
  };
  const withBtf = btfFd && !MAP_TYPES_WITHOUT_BTF.has(m.type) && (m.btfKeyTypeId || m.btfValueTypeId)
    ? { btfFd: btfFd.fd, btfKeyTypeId: m.btfKeyTypeId, btfValueTypeId: m.btfValueTypeId }
    : {};
  let fd: MapFd;
  try {
    fd = res.add(mapCreate({ ...base, ...withBtf }));
  } catch (e) {
    if (!("btfFd" in withBtf)) throw mapError(m, e);
    // As libbpf: a kernel that dislikes the map's BTF may still create it without.
    try {
      fd = res.add(mapCreate(base));
    } catch {
      throw mapError(m, e);
    }
  }
  if (m.image) {
    try {
      mapUpdate(fd, new Uint8Array(4), m.image);
      if (m.freeze) {
        if (!hasFeature("map_freeze")) {
          throw new UnsupportedFeatureError("map_freeze", "5.2", `map '${m.name}' holds read-only globals (${m.section}) that must be frozen before programs load, and this kernel cannot freeze maps (needs kernel ≥ 5.2)`);
        }
        mapFreeze(fd);
      }
    } catch (e) {
      throw mapError(m, e);
    }
  }
  if (pinPath) {
    try {
      mkdirSync(pinRoot, { recursive: true });
      objPin(fd, pinPath);
      madePins.push(pinPath);
    } catch (e) {
      throw mapError(m, e);
    }
  }
  return new LoadedMap(m, fd, spec.btf, pinPath);
}

/** Reuse a map pinned by name when it is compatible (libbpf `map_is_reuse_compat`), or say why not. */
function reusePinned(m: MapSpec, path: string, res: Resources): MapFd | undefined {
  let fd: ReturnType<typeof objGet>;
  try {
    fd = objGet(path);
  } catch (e) {
    if (e instanceof BpfSyscallError && e.errnoName === "ENOENT") return undefined;
    throw mapError(m, e);
  }
  res.add(fd);
  if (!(fd instanceof MapFdClass)) throw new LoadError("LOAD_MAP", `map '${m.name}': ${path} is pinned but is not a map`, { map: m.name });
  const info = mapInfo(fd);
  // Pinned maps are only ever .maps definitions, created with exactly these flags.
  const want = { type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: effectiveMaxEntries(m), flags: m.flags, mapExtra: m.mapExtra };
  const have = { type: info.type, keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.flags, mapExtra: info.mapExtra };
  const show = (k: keyof typeof want, v: number | bigint) => (k === "flags" ? `0x${v.toString(16)}` : String(v));
  for (const k of Object.keys(want) as (keyof typeof want)[]) {
    if (want[k] !== have[k]) throw new LoadError("LOAD_MAP", `map '${m.name}': the map pinned at ${path} has ${k} ${show(k, have[k])}, the object wants ${show(k, want[k])}`, { map: m.name });
  }
  return fd;
}

function mapError(m: MapSpec, e: unknown): Error {
  if (e instanceof UnsupportedFeatureError || e instanceof LoadError) return e;
  const sys = e instanceof BpfSyscallError ? e : undefined;
  const err = new LoadError("LOAD_MAP", `map '${m.name}': ${(e as Error).message}`, { map: m.name, command: sys?.command, errnoName: sys?.errnoName, log: sys?.log }, { cause: e });
  // Only after a failed create: was it a map type or flag this kernel lacks?
  const missing = sys?.command === "BPF_MAP_CREATE" ? explainMapFailure(m.name, m.type, m.flags, { has: hasFeature }) : undefined;
  if (missing) {
    missing.cause = err;
    return missing;
  }
  return err;
}

function loadProgram(spec: ObjectSpec, p: ProgramSpec, linked: LinkedProgram, maps: ReadonlyMap<string, LoadedMap>, btf: LoadedBtf | undefined, logLevel: number, res: Resources): ProgFd {
  const kind = p.kind!;
  const byName = (name: string) => {
    const m = maps.get(name);
    if (!m) throw new LoadError("LOAD_PROGRAM", `program '${p.name}' references map '${name}', which the object does not define`, { program: p.name });
    return m.fd.fd;
  };
  const bySection = (section: string) => {
    const m = [...maps.values()].find((x) => x.spec.section === section);
    if (!m) throw new LoadError("LOAD_PROGRAM", `program '${p.name}' references section ${section}, which has no map (empty or not a data section)`, { program: p.name, section });
    return m.fd.fd;
  };
  const insns = encodeInstructions(patchMapReferences(linked.insns, linked.relocations, { map: byName, data: bySection }), spec.elf.littleEndian);
  const progType = ProgType[kind.progType as keyof typeof ProgType];
  const attachType = kind.attachType ? AttachType[kind.attachType as keyof typeof AttachType] : undefined;
  if (progType === undefined) throw new LoadError("LOAD_PROGRAM", `program '${p.name}': unknown program type ${kind.progType}`, { program: p.name });
  const ext = btf && spec.btfExt && hasFeature("btf_func") ? extInfo(spec, linked, btf) : {};
  try {
    return res.add(progLoad({
      type: progType,
      insns,
      license: spec.license,
      name: hasFeature("prog_name") ? kernelObjectName(p.name) : undefined,
      expectedAttachType: attachType,
      attachBtfId: kind.attachTarget !== undefined ? attachBtfId(p) : undefined,
      progBtfFd: btf && ext.funcInfo ? btf.fd.fd : undefined,
      ...ext,
      kernVersion: progType === ProgType.KPROBE ? spec.kernVersion || kernelVersion().code : spec.kernVersion,
      flags: (kind.sleepable ? ProgFlags.BPF_F_SLEEPABLE : 0) | (kind.frags ? ProgFlags.BPF_F_XDP_HAS_FRAGS : 0),
      logLevel,
    }));
  } catch (e) {
    const sys = e instanceof BpfSyscallError ? e : undefined;
    const err = new LoadError("LOAD_PROGRAM", `program '${p.name}' (${p.section}): ${(e as Error).message}`, { program: p.name, command: sys?.command, errnoName: sys?.errnoName, log: sys?.log }, { cause: e });
    // Only now (off the fast path): was it the program type or attach type this kernel lacks?
    const missing = sys && explainProgramFailure(p.name, kind.progType, kind.attachType, { progType: probeProgType, attachType: probeAttachType, kernel: kernelVersion });
    if (missing) {
      missing.cause = err;
      throw missing;
    }
    throw err;
  }
}

/** func_info / line_info for the linked program, as libbpf `adjust_prog_btf_ext_info` builds them. */
function extInfo(spec: ObjectSpec, linked: LinkedProgram, btf: LoadedBtf): { funcInfo?: { bytes: Uint8Array; recSize: number }; lineInfo?: { bytes: Uint8Array; recSize: number } } {
  const ext = spec.btfExt!;
  const le = spec.elf.littleEndian;
  const bySection = <R>(secs: { section: string; records: R[] }[]) => new Map(secs.map((s) => [s.section, s.records]));
  const funcs = rebaseExtInfo(bySection(ext.funcInfo.sections), linked.segments) as BtfExtFuncInfo[];
  // libbpf: a main program without func_info gets none at all.
  if (!funcs.some((f) => f.insnOff === 0)) return {};
  const lines = rebaseExtInfo(bySection(ext.lineInfo.sections), linked.segments) as BtfExtLineInfo[];
  const funcBytes = new Uint8Array(funcs.length * BpfFuncInfoLayout.size);
  funcs.forEach((f, i) => BpfFuncInfoLayout.write(funcBytes, i * BpfFuncInfoLayout.size, { insn_off: f.insnOff, type_id: f.typeId }, le));
  const lineBytes = new Uint8Array(lines.length * BpfLineInfoLayout.size);
  lines.forEach((l, i) => BpfLineInfoLayout.write(lineBytes, i * BpfLineInfoLayout.size, {
    insn_off: l.insnOff,
    file_name_off: btf.stringOffset(l.fileName) ?? 0,
    line_off: btf.stringOffset(l.line) ?? 0,
    line_col: (l.lineNumber << 10) | l.column,
  }, le));
  return {
    funcInfo: { bytes: funcBytes, recSize: BpfFuncInfoLayout.size },
    ...(lines.length ? { lineInfo: { bytes: lineBytes, recSize: BpfLineInfoLayout.size } } : {}),
  };
}

/** The kernel BTF id a tracing/LSM/iterator program attaches to, by libbpf's naming conventions. */
function attachBtfId(p: ProgramSpec): number {
  const kind = p.kind!;
  const target = kind.attachTarget!;
  const [name, btfKind] =
    kind.attachType === "TRACE_RAW_TP" ? [`btf_trace_${target}`, "TYPEDEF" as const]
    : kind.progType === "LSM" ? [`bpf_lsm_${target}`, "FUNC" as const]
    : kind.attachType === "TRACE_ITER" ? [`bpf_iter_${target}`, "FUNC" as const]
    : [target, "FUNC" as const];
  const id = kernelTypeId(name, btfKind);
  if (id === undefined) throw new LoadError("LOAD_PROGRAM", `program '${p.name}' (${p.section}): the kernel's BTF has no ${btfKind} '${name}' to attach to`, { program: p.name });
  return id;
}

/** Bind `.rodata*` maps to the program so they live as long as it does (libbpf; bpftool finds metadata there). */
function bindReadOnlyMaps(fd: ProgFd, p: ProgramSpec, maps: ReadonlyMap<string, LoadedMap>, warn: (m: string) => void): void {
  if (!hasFeature("prog_bind_map")) return;
  for (const m of maps.values()) {
    if (m.spec.origin !== "rodata") continue;
    try {
      progBindMap(fd, m.fd);
    } catch (e) {
      warn(`program '${p.name}': could not bind map '${m.name}': ${(e as Error).message}`);
    }
  }
}

/** What the kernel will report as max_entries: a perf event array of 0 entries gets one per possible CPU (libbpf). */
function effectiveMaxEntries(m: MapSpec): number {
  return m.type === MapType.PERF_EVENT_ARRAY && m.maxEntries === 0 ? possibleCpus() : m.maxEntries;
}
