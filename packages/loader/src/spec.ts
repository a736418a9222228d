/**
 * Opening an object: ELF → BTF → DATASEC fix-up → programs, maps and variables. No syscalls.
 */
import { readFileSync } from "node:fs";
import { ElfFile, SectionFlags, SectionType, type ElfSection } from "@x/elf";
import { type Btf, type BtfExt, parseBtf, parseBtfExt, fixupDatasecs, datasecSourceFromElf, variables as btfVariables } from "@x/btf";
import { collectRelocations, findPrograms, type ProgramRelocation, type ProgramSymbol } from "@x/reloc";
import { MapFlags, MapType } from "@x/sys";
import { btfMapDefinitions } from "./btf-maps.js";
import { dataSectionKind, type DataSectionKind } from "./data-sections.js";
import { ObjectError } from "./errors.js";
import { internalMapName, objectNameFromPath } from "./names.js";
import { programKindOf, type ProgramKind } from "./section-defs.js";
import { loadObject, type LoadOptions } from "./load.js";
import type { LoadedObject } from "./loaded.js";
import { imageStorage, Variable, variableInfo } from "./variables.js";

/** A map the object asks for: from `.maps`, or an internal map for a data section. */
export interface MapSpec {
  /** Kernel name: the `.maps` variable name, or libbpf's internal map name (`globals.rodata`, `.data.custom`). */
  name: string;
  /** `btf` for `.maps` definitions; the data section kind for internal maps. */
  readonly origin: "btf" | DataSectionKind;
  /** For internal maps: the ELF section it holds. */
  readonly section?: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BPF_F_* map flags. BPF_F_MMAPABLE is added at load time when the kernel has it. */
  flags: number;
  numaNode: number;
  mapExtra: bigint;
  /** LIBBPF_PIN_BY_NAME (1) pins the map by name under the pin directory. */
  pinning: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  /** Internal maps: the initial value (the section's bytes; zeros for `.bss`). Edited by variable writes. */
  readonly image?: Uint8Array;
  /** Internal maps: whether user space may map it (libbpf: a DATASEC with at least one non-static variable). */
  readonly mmapable: boolean;
  /** Internal maps: frozen after the initial write (`.rodata*`, `.kconfig`). */
  readonly freeze: boolean;
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
    this.#variables ??= this.btf ? objectVariables(this.btf, this.maps) : new Map();
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
      return { name: symbol.name, section: symbol.section, kind, symbol, insnCount: symbol.insnCount, autoload: kind?.autoload ?? true };
    });
    this.relocations = collectRelocations(elf, this.functions);
    this.license = readLicense(elf);
    this.kernVersion = readVersion(elf);
    this.maps = [...(btf ? btfMaps(btf) : []), ...internalMaps(name, elf, btf)];
  }

  /** The program named `name`; throws a clear error naming the programs there are. */
  program(name: string): ProgramSpec {
    const p = this.programs.find((x) => x.name === name);
    if (!p) throw new ObjectError("OBJECT_NO_SUCH_PROGRAM", `no program '${name}' in ${this.name} (programs: ${this.programs.map((x) => x.name).join(", ") || "none"})`, { program: name });
    return p;
  }

  /** The map named `name` (kernel name, or for internal maps also the section name). */
  map(name: string): MapSpec {
    const m = this.maps.find((x) => x.name === name || x.section === name);
    if (!m) throw new ObjectError("OBJECT_NO_SUCH_MAP", `no map '${name}' in ${this.name} (maps: ${this.maps.map((x) => x.name).join(", ") || "none"})`, { map: name });
    return m;
  }

  /** The variable named `name`. */
  variable(name: string): Variable {
    const v = this.variables.get(name);
    if (!v) {
      const hint = this.btf ? "" : " (the object has no BTF, so its globals have no names)";
      throw new ObjectError("OBJECT_NO_SUCH_VARIABLE", `no global variable '${name}' in ${this.name}${hint}`, { variable: name });
    }
    return v;
  }

  /**
   * Set a variable, or a field of a struct variable with a dotted path (`cfg.blocked_port`).
   * Values are typed (see {@link Variable.set}); `text` form parses command-line input.
   */
  set(path: string, value: unknown, options: { text?: boolean } = {}): void {
    const [name, ...fields] = path.split(".");
    const v = this.variable(name!);
    if (fields.length === 0) {
      if (options.text) v.setText(value as string);
      else v.set(value as never);
      return;
    }
    v.setField(fields, value, options.text ?? false);
  }

  /** Load into the kernel: shorthand for {@link loadObject}. */
  load(options: LoadOptions = {}): LoadedObject {
    return loadObject(this, options);
  }

  /** Read a variable, or a field of one by dotted path (`cfg.blocked_port`). */
  get(path: string): unknown {
    const [name, ...fields] = path.split(".");
    let value: unknown = this.variable(name!).get();
    for (const f of fields) value = (value as Record<string, unknown>)[f];
    return value;
  }

  /**
   * The object file with its data sections holding the current images: the template workflow.
   * `.bss` sections hold no bytes in the file, so a changed `.bss` value is refused.
   */
  toElf(): Uint8Array {
    const replacements = new Map<number, Uint8Array>();
    for (const m of this.maps) {
      if (!m.image || !m.section) continue;
      const sec = this.elf.section(m.section)!;
      if (sec.type === SectionType.NOBITS) {
        if (m.image.some((b) => b !== 0)) {
          throw new ObjectError("OBJECT_NOT_PATCHABLE", `section ${m.section} is NOBITS (zero-initialised): it has no bytes in the file to hold new values; set it before load instead`, { section: m.section });
        }
        continue;
      }
      if (!bytesEqual(sec.data, m.image)) replacements.set(sec.index, m.image);
    }
    return this.elf.withSectionData(replacements);
  }
}

/** Open a BPF object from a path or its bytes. Parses and validates; makes no syscalls. */
export function openObject(source: string | Uint8Array, options: OpenOptions = {}): ObjectSpec {
  const bytes = typeof source === "string" ? new Uint8Array(readFileSync(source)) : source;
  const name = options.name ?? (typeof source === "string" ? objectNameFromPath(source) : "obj");
  const elf = ElfFile.parse(bytes);
  const btfSec = elf.section(".BTF");
  let btf: Btf | undefined;
  let btfExt: BtfExt | undefined;
  if (btfSec) {
    btf = parseBtf(btfSec.data);
    fixupDatasecs(btf, datasecSourceFromElf(elf));
    const extSec = elf.section(".BTF.ext");
    if (extSec) btfExt = parseBtfExt(extSec.data, btf);
  }
  return new ObjectSpec(name, elf, btf, btfExt);
}

function btfMaps(btf: Btf): MapSpec[] {
  return btfMapDefinitions(btf).map((d) => ({ ...d, origin: "btf" as const, mmapable: false, freeze: false }));
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
    const kind = dataSectionKind(sec.name, sec.type === SectionType.NOBITS);
    if (!kind || kind === "kconfig" || sec.size === 0 || !(sec.flags & SectionFlags.ALLOC)) continue;
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

function sectionImage(sec: ElfSection): Uint8Array {
  return sec.type === SectionType.NOBITS ? new Uint8Array(sec.size) : sec.data.slice();
}

function objectVariables(btf: Btf, maps: readonly MapSpec[]): Map<string, Variable> {
  const out = new Map<string, Variable>();
  for (const v of btfVariables(btf)) {
    const map = maps.find((m) => m.section === v.section);
    if (!map?.image || v.linkage === "extern") continue;
    out.set(v.name, new Variable(variableInfo(btf, v), btf, imageStorage(map.image)));
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
