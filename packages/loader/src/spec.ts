/**
 * Opening an object: ELF → BTF → DATASEC fix-up → programs, maps and variables. No syscalls.
 */
import { readFileSync } from "node:fs";
import { ElfFile, isXError, SectionFlags, SectionType, SymbolBinding, type ElfSection } from "@x/elf";
import { collectExterns, type Extern, KCONFIG_SECTION, type Btf, type BtfExt, type BtfValue, parseBtf, parseBtfExt, fixupDatasecs, datasecSourceFromElf, variables as btfVariables } from "@x/btf";
import { collectRelocations, dataSectionKind, findPrograms, isExternSymbol, Linker, type LinkedProgram, type ProgramRelocation, type ProgramSymbol } from "@x/reloc";
import { MapFlags, MapType } from "@x/sys/abi";
import { attachArenaData } from "./arena.js";
import { type BtfMapDefinition, btfMapDefinitions } from "./btf-maps.js";
import { collectMapSlots } from "./map-slots.js";
import { iprouteMapInMap, legacyMapDefinitions } from "./legacy-maps.js";
import { isStructOpsSection, type StructOpsSpec, structOpsMaps } from "./struct-ops.js";
import { ObjectError } from "./errors.js";
import { internalMapName, objectNameFromPath } from "./names.js";
import { programKindOf, type ProgramKind } from "./section-defs.js";
import type { LoadOptions } from "./load/index.js";
import type { LoadedObject } from "./loaded.js";
import { imageStorage, Variable, variableInfo } from "./variables.js";
import { parseKconfigLines } from "./kconfig.js";

/** A map the object asks for: from `.maps`, or an internal map for a data section. */
export interface MapSpec {
  /** Kernel name: the `.maps` variable name, or libbpf's internal map name (`globals.rodata`, `.data.custom`). */
  name: string;
  /**
   * `btf` for `.maps` definitions, `legacy` for a `maps` section's (`struct bpf_map_def`, iproute2's
   * `struct bpf_elf_map`); the data section kind for internal maps (`kconfig`: the values of kconfig externs).
   */
  readonly origin: "btf" | "legacy" | "struct_ops" | "data" | "rodata" | "bss" | "kconfig";
  /** For internal maps: the ELF section it holds; for the arena map, the `__arena` globals' section. */
  readonly section?: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BPF_F_* map flags. BPF_F_MMAPABLE is added at load time when the kernel has it. */
  flags: number;
  numaNode: number;
  mapExtra: bigint;
  /** The definition's pinning value (libbpf's LIBBPF_PIN_BY_NAME is 1; iproute2's PIN_OBJECT_NS 1, PIN_GLOBAL_NS 2). */
  pinning: number;
  /**
   * Where the map is pinned, relative to the load's pin root: its name for libbpf's
   * LIBBPF_PIN_BY_NAME, `tc/globals/NAME` or `tc/OBJECT-SHA1/NAME` for iproute2's pinning. A
   * compatible map pinned there is reused.
   */
  pinAt?: string;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  /** A struct_ops map: its struct and the programs its function pointers point to. */
  readonly structOps?: StructOpsSpec;
  /** Created at load (false for `?.struct_ops` maps, as libbpf's autocreate); default true. */
  autocreate?: boolean;
  /** A map of maps: the inner maps' definition (`NAME.inner`), the template the map is created with. */
  readonly inner?: BtfMapDefinition;
  /** For `__array(values, …)`: the byte offset of `values` in the definition (where the slots' pointers are). */
  readonly valuesOffset?: number;
  /**
   * Initial slots (`.values = { [i] = &x }`): slot index → the name of the map (a map of maps) or the
   * program (a program array) whose fd goes there at load. Edit it before load to change them.
   */
  readonly slots?: Map<number, string>;
  /**
   * Internal maps: the initial value (the section's bytes; zeros for `.bss`). The arena map: its
   * globals' initial image (copied into the arena at load). Edited by variable writes.
   */
  readonly image?: Uint8Array;
  /** Internal maps: whether user space may map it (libbpf: a DATASEC with at least one non-static variable). */
  readonly mmapable: boolean;
  /** Internal maps: frozen after the initial write (`.rodata*`, `.kconfig`). */
  readonly freeze: boolean;
}

/** Whether `m` is declared by the object (`.maps`, or a legacy `maps` section), not an internal map of the loader's. */
export function isDeclaredMap(m: Pick<MapSpec, "origin">): boolean {
  return m.origin === "btf" || m.origin === "legacy" || m.origin === "struct_ops";
}

/** A program the object defines. */
export interface ProgramSpec {
  readonly name: string;
  /** ELF section, e.g. `tc` or `sk_lookup`. */
  readonly section: string;
  /** Type, attach type and flags from the section name; undefined for sections no convention matches. */
  readonly kind: ProgramKind | undefined;
  readonly symbol: ProgramSymbol;
  /** Instructions in the program's own function (subprograms are appended at load). */
  readonly insnCount: number;
  /** Load this program with the object (false for `?`-prefixed sections). */
  autoload: boolean;
}

/** Options for {@link openObject}. */
export interface OpenOptions {
  /** Object name used as the internal map name prefix (default: the file name up to its first dot, or `obj`). */
  readonly name?: string;
}

/** Everything an object asks of the kernel, decoded but not yet loaded. Mutable until load. */
export class ObjectSpec {
  /** Programs, in ELF order. Subprograms in `.text` are not listed. */
  readonly programs: ProgramSpec[];
  /** Maps in libbpf's creation order: `.maps`, then data sections in ELF order. */
  readonly maps: MapSpec[];
  /** Variables by name; values read and write the owning map's {@link MapSpec.image}. */
  get variables(): ReadonlyMap<string, Variable> {
    // Built on first use: a load that sets nothing by name never needs them.
    this.#variables ??= this.btf ? objectVariables(this.name, this.btf, this.maps) : new Map();
    return this.#variables;
  }
  #variables: ReadonlyMap<string, Variable> | undefined;
  /** Subprograms (functions in `.text`). */
  readonly subprograms: readonly ProgramSymbol[];
  /** Every function symbol of the executable sections, sorted by section and offset (for linking). */
  readonly functions: readonly ProgramSymbol[];
  /** Classified relocations per executable section. */
  readonly relocations: ReadonlyMap<string, readonly ProgramRelocation[]>;
  /** License string from the `license` section (empty when absent). */
  readonly license: string;
  /** `version` section value (0 when absent). */
  readonly kernVersion: number;
  /**
   * Externs (`__kconfig`, `__ksym` variables, kfuncs) in libbpf's order; resolved at load. Kconfig
   * values can be given before load with {@link ObjectSpec.kconfig} / {@link ObjectSpec.setKconfig}.
   */
  readonly externs: readonly Extern[];
  readonly #kconfig = new Map<string, string>();

  /** @internal Use {@link openObject}. */
  constructor(
    /** Object name, the prefix of internal map names. */
    readonly name: string,
    readonly elf: ElfFile,
    /**
     * The object's BTF after DATASEC fix-up, when it has any. What the kernel gets (sanitised for it,
     * hidden functions made static) is prepared from it once, at the first load of this spec.
     */
    readonly btf: Btf | undefined,
    readonly btfExt: BtfExt | undefined,
  ) {
    this.functions = findPrograms(elf);
    this.subprograms = this.functions.filter((p) => p.isSubprog);
    this.programs = this.functions.filter((p) => !p.isSubprog).map((symbol) => {
      const kind = programKindOf(symbol.section);
      return { name: symbol.name, section: symbol.section, kind, symbol, insnCount: symbol.insnCount, autoload: !symbol.section.startsWith("?") };
    });
    this.relocations = collectRelocations(elf, this.functions);
    this.license = readLicense(elf);
    this.kernVersion = readVersion(elf);
    const externSymbols: { name: string; weak: boolean }[] = [];
    for (const sym of elf.symbols) if (isExternSymbol(sym)) externSymbols.push({ name: sym.name, weak: sym.binding === SymbolBinding.WEAK });
    const externs = externSymbols.length ? collectExterns(btf, externSymbols) : undefined;
    this.externs = externs?.externs ?? [];
    const declared = withSlots(name, elf, btf, attachArenaData(name, elf, [...(btf ? btfMaps(btf) : []), ...legacyMaps(name, elf, btf)]), this.functions);
    const dup = declared.find((m, i) => declared.findIndex((x) => x.name === m.name) !== i);
    if (dup) throw new ObjectError("OBJECT_BAD_MAP_DEFINITION", `map '${dup.name}' is defined twice (in .maps and in a legacy maps section)`, { object: name, map: dup.name });
    this.maps = [...declared, ...internalMaps(name, elf, btf)];
    if (externs?.kconfigSize) this.maps.push(kconfigMap(name, btf, externs.kconfigSize));
    // libbpf's order: .maps, data sections, .kconfig, then struct_ops.
    this.maps.push(...structOpsMaps(name, elf, btf, this.functions));
  }

  /**
   * Kconfig values to use instead of the running kernel's, as `CONFIG_NAME=value` lines (libbpf's
   * `kconfig` open option): `y`/`n`/`m`, integers, quoted strings. Reading gives the values set so far.
   */
  get kconfig(): string {
    return [...this.#kconfig].map(([k, v]) => `${k}=${v}\n`).join("");
  }
  set kconfig(text: string) {
    this.#kconfig.clear();
    for (const [k, v] of parseKconfigLines(text, "kconfig option", this.name)) this.#kconfig.set(k, v);
  }

  /** Give one kconfig value (`true`/`false` are `y`/`n`; strings are written as a config file holds them: `y`, `"text"`, `0x10`). */
  setKconfig(name: string, value: string | number | bigint | boolean): void {
    const text = typeof value === "boolean" ? (value ? "y" : "n") : String(value);
    if (!name.startsWith("CONFIG_")) throw new ObjectError("OBJECT_BAD_KCONFIG", `kconfig value '${name}': only CONFIG_ names are read from the kernel's configuration`, { object: this.name, variable: name });
    for (const [k, v] of parseKconfigLines(`${name}=${text}`, "kconfig value", this.name)) this.#kconfig.set(k, v);
  }

  /** @internal The kconfig values given before load, by name. */
  get kconfigOverrides(): ReadonlyMap<string, string> {
    return this.#kconfig;
  }

  /** The program named `name`; throws a clear error naming the programs there are. */
  program(name: string): ProgramSpec {
    const p = this.programs.find((x) => x.name === name);
    if (!p) throw new ObjectError("OBJECT_NO_SUCH_PROGRAM", `no program '${name}' in ${this.name} (programs: ${this.programs.map((x) => x.name).join(", ") || "none"})`, { object: this.name, program: name });
    return p;
  }

  /** The map named `name` (kernel name, or for internal maps also the section name). */
  map(name: string): MapSpec {
    const m = this.maps.find((x) => x.name === name || x.section === name);
    if (!m) throw new ObjectError("OBJECT_NO_SUCH_MAP", `no map '${name}' in ${this.name} (maps: ${this.maps.map((x) => x.name).join(", ") || "none"})`, { object: this.name, map: name });
    return m;
  }

  /** The variable named `name`. */
  variable(name: string): Variable {
    const v = this.variables.get(name);
    if (!v) {
      const hint = this.btf ? "" : " (the object has no BTF, so its globals have no names)";
      throw new ObjectError("OBJECT_NO_SUCH_VARIABLE", `no global variable '${name}' in ${this.name}${hint}`, { object: this.name, variable: name });
    }
    return v;
  }

  /**
   * Set a variable, or one field of it by path (`cfg.blocked_port`, `ports[2]`): only that field changes.
   * Values are typed (see {@link Variable.set}); `text` form parses command-line input.
   */
  set(path: string, value: unknown, options: { text?: boolean } = {}): void {
    const [name, ...fields] = splitPath(path);
    const v = this.variable(name!);
    if (fields.length) v.setField(fields, value, options.text ?? false);
    else if (options.text) v.setText(value as string);
    else v.set(value as BtfValue);
  }


  /** Load into the kernel: shorthand for `loadObject(spec, options)` of `@x/loader`. */
  load(options: LoadOptions = {}): LoadedObject {
    if (!loader) {
      throw new ObjectError("OBJECT_NO_LOADER", "this ObjectSpec was opened through @x/loader/open, which cannot load: import openObject from @x/loader to load objects", { object: this.name });
    }
    return loader(this, options);
  }

  /**
   * @internal The program `name` with the subprograms it calls appended. Linking is pure and
   * depends only on the object's code, so every load of this spec reuses it (patching copies).
   */
  linked(name: string, exceptionCallback?: string): LinkedProgram {
    const linker = this.memo("linker", () => new Linker(this.elf, this.relocations, this.functions));
    return this.memo(`linked ${name} ${exceptionCallback ?? ""}`, () => linker.link(name, { exceptionCallback }));
  }

  /**
   * @internal A value derived from this spec's immutable parts (code, BTF), computed once:
   * reloading a template must not redo work whose inputs did not change.
   */
  memo<T>(key: string, compute: () => T): T {
    if (this.#memo.has(key)) return this.#memo.get(key) as T;
    const value = compute();
    this.#memo.set(key, value);
    return value;
  }
  readonly #memo = new Map<string, unknown>();

  /** Read a variable, or one field of it by path (`cfg.blocked_port`, `ports[2]`). */
  get(path: string): BtfValue {
    const [name, ...fields] = splitPath(path);
    const v = this.variable(name!);
    return fields.length ? v.getField(fields) : v.get();
  }

  /**
   * The object file with its data sections holding the current images: the template workflow.
   * `.bss` sections hold no bytes in the file, so a changed `.bss` value is refused.
   */
  toElf(): Uint8Array {
    const replacements = new Map<number, Uint8Array>();
    for (const m of this.maps) {
      // The .kconfig map has no section in the file: its values come from the kernel at load.
      if (!m.image || !m.section || m.origin === "kconfig") continue;
      const sec = this.elf.section(m.section)!;
      if (sec.type === SectionType.NOBITS) {
        if (m.image.some((b) => b !== 0)) {
          throw new ObjectError("OBJECT_NOT_PATCHABLE", `section ${m.section} is NOBITS (zero-initialised): it has no bytes in the file to hold new values; set it before load instead`, { object: this.name, section: m.section });
        }
        continue;
      }
      if (!bytesEqual(sec.data, m.image)) replacements.set(sec.index, m.image);
    }
    return this.elf.withSectionData(replacements);
  }
}

/** `cfg.limits.rate` → `["cfg", "limits", "rate"]`; `ports[2]` → `["ports", "2"]`. */
function splitPath(path: string): string[] {
  return path.replace(/\[(\d+)\]/g, ".$1").split(".");
}

/** The load function, installed by the main entry of `@x/loader` (the open-only entry never imports it). */
let loader: ((spec: ObjectSpec, options: LoadOptions) => LoadedObject) | undefined;

/** @internal Called once by `@x/loader`'s main entry. */
export function installLoader(load: (spec: ObjectSpec, options: LoadOptions) => LoadedObject): void {
  loader = load;
}

/** Open a BPF object from a path or its bytes. Parses and validates; makes no syscalls. */
export function openObject(source: string | Uint8Array, options: OpenOptions = {}): ObjectSpec {
  const bytes = typeof source === "string" ? new Uint8Array(readFileSync(source)) : source;
  const name = options.name ?? (typeof source === "string" ? objectNameFromPath(source) : "obj");
  try {
    const elf = ElfFile.parse(bytes);
    const btfSec = elf.section(".BTF");
    let btf: Btf | undefined;
    let btfExt: BtfExt | undefined;
    if (btfSec) {
      const parsed = inSection(".BTF", () => parseBtf(btfSec.data));
      fixupDatasecs(parsed, datasecSourceFromElf(elf));
      const extSec = elf.section(".BTF.ext");
      if (extSec) btfExt = inSection(".BTF.ext", () => parseBtfExt(extSec.data, parsed));
      btf = parsed;
    }
    return new ObjectSpec(name, elf, btf, btfExt);
  } catch (e) {
    // Whatever layer refused the object (ELF, BTF, relocations, map definitions), say which object.
    if (isXError(e)) e.within({ object: name });
    throw e;
  }
}

/** Run `fn`, adding `section` to the location of an error it throws (BTF offsets are within that section). */
function inSection<T>(section: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isXError(e)) e.within({ section });
    throw e;
  }
}

function btfMaps(btf: Btf): MapSpec[] {
  return btfMapDefinitions(btf).map(({ values, ...d }) => ({
    ...d, origin: "btf" as const, mmapable: false, freeze: false,
    ...(d.pinning === LIBBPF_PIN_BY_NAME ? { pinAt: d.name } : {}),
    ...(values ? { valuesOffset: values.offset, ...(values.inner ? { inner: values.inner } : {}) } : {}),
  }));
}

/** libbpf's LIBBPF_PIN_BY_NAME. */
const LIBBPF_PIN_BY_NAME = 1;

/** The legacy `maps` section's definitions (see legacy-maps.ts), iproute2's map-in-map resolved. */
function legacyMaps(object: string, elf: ElfFile, btf: Btf | undefined): MapSpec[] {
  const defs = legacyMapDefinitions(object, elf, btf, elf.bytes);
  if (!defs.length) return [];
  const nested = iprouteMapInMap(object, defs);
  return defs.map(({ layout: _layout, section: _section, iproute: _iproute, ...d }) => {
    const n = nested.get(d.name);
    return { ...d, origin: "legacy" as const, mmapable: false, freeze: false, ...(n ? { inner: n.inner, ...(n.slots.size ? { slots: n.slots } : {}) } : {}) };
  });
}

/** The maps with the initial slots their `.values` give (see `map-slots.ts`). */
function withSlots(object: string, elf: ElfFile, btf: Btf | undefined, maps: MapSpec[], programs: readonly ProgramSymbol[]): MapSpec[] {
  if (!btf || !maps.some((m) => m.valuesOffset !== undefined)) return maps;
  const slots = collectMapSlots(object, elf, btf, maps, programs);
  return maps.map((m) => (slots.has(m.name) ? { ...m, slots: slots.get(m.name)! } : m));
}

/** DATASEC type ids by name, from one pass over the types (Btf.find is a scan per call). */
function datasecIds(btf: Btf | undefined): Map<string, number> {
  const ids = new Map<string, number>();
  if (!btf) return ids;
  btf.types.forEach((t, id) => {
    if (t.kind === "DATASEC" && !ids.has(t.name)) ids.set(t.name, id);
  });
  return ids;
}

function internalMaps(objName: string, elf: ElfFile, btf: Btf | undefined): MapSpec[] {
  const out: MapSpec[] = [];
  const datasecs = datasecIds(btf);
  for (const sec of elf.sections) {
    // Classified as libbpf's bpf_object__elf_collect does (@x/reloc); arena data is not an internal map.
    const kind = dataSectionKind(sec);
    if (!kind || kind === "arena" || sec.size === 0 || !(sec.flags & SectionFlags.ALLOC)) continue;
    const datasecId = datasecs.get(sec.name);
    const datasec = datasecId !== undefined ? btf!.type(datasecId, "DATASEC") : undefined;
    const mmapable = !!datasec?.vars.some((v) => {
      const t = btf!.type(v.type);
      return t.kind === "VAR" && t.linkage !== "static";
    });
    out.push({
      name: internalMapName(objName, sec.name),
      origin: kind,
      section: sec.name,
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: sec.size,
      maxEntries: 1,
      flags: kind === "rodata" ? MapFlags.BPF_F_RDONLY_PROG : 0,
      numaNode: 0,
      mapExtra: 0n,
      pinning: 0,
      btfKeyTypeId: 0,
      btfValueTypeId: datasecId ?? 0,
      image: sectionImage(sec),
      mmapable,
      freeze: kind === "rodata",
    });
  }
  return out;
}

/** The `.kconfig` internal map of the kconfig externs (libbpf `bpf_object__init_kconfig_map`), after the data sections. */
function kconfigMap(objName: string, btf: Btf | undefined, size: number): MapSpec {
  return {
    name: internalMapName(objName, KCONFIG_SECTION),
    origin: "kconfig",
    section: KCONFIG_SECTION,
    type: MapType.ARRAY,
    keySize: 4,
    valueSize: size,
    maxEntries: 1,
    flags: MapFlags.BPF_F_RDONLY_PROG,
    numaNode: 0,
    mapExtra: 0n,
    pinning: 0,
    btfKeyTypeId: 0,
    btfValueTypeId: btf?.find(KCONFIG_SECTION, "DATASEC") ?? 0,
    // The values are resolved at load; this image is all zeros (what an unresolved weak extern reads).
    image: new Uint8Array(size),
    mmapable: true,
    freeze: true,
  };
}

function sectionImage(sec: ElfSection): Uint8Array {
  return sec.type === SectionType.NOBITS ? new Uint8Array(sec.size) : sec.data.slice();
}

function objectVariables(object: string, btf: Btf, maps: readonly MapSpec[]): Map<string, Variable> {
  const out = new Map<string, Variable>();
  for (const v of btfVariables(btf)) {
    if (v.linkage === "extern") continue;
    // A struct_ops variable is its map's value: its own image, from offset 0 (function pointers
    // there are ignored: the map's `structOps.programs` says which program each one is).
    const ops = maps.find((m) => m.structOps && m.name === v.name && isStructOpsSection(v.section))?.structOps;
    if (ops) {
      out.set(v.name, new Variable(variableInfo(btf, { ...v, offset: 0 }, object), btf, imageStorage(ops.image)));
      continue;
    }
    const map = maps.find((m) => m.section === v.section);
    if (!map?.image) continue;
    out.set(v.name, new Variable(variableInfo(btf, v, object), btf, imageStorage(map.image)));
  }
  return out;
}

function readLicense(elf: ElfFile): string {
  const sec = elf.section("license");
  if (!sec) return "";
  const end = sec.data.indexOf(0);
  return new TextDecoder().decode(sec.data.subarray(0, end < 0 ? sec.data.length : end));
}

function readVersion(elf: ElfFile): number {
  const sec = elf.section("version");
  if (sec?.data.byteLength !== 4) return 0;
  return new DataView(sec.data.buffer, sec.data.byteOffset, 4).getUint32(0, elf.littleEndian);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
