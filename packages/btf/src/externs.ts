/**
 * Externs of a BPF object (`__kconfig`, `__ksym`, kfunc prototypes), as libbpf's
 * `bpf_object__collect_externs` finds and lays them out: each extern symbol's BTF VAR or FUNC,
 * its section (`.kconfig` or `.ksyms`), the kconfig value types libbpf accepts, and the `.kconfig`
 * layout (sorted by alignment, size and name, so the offsets are libbpf's), plus the BTF the kernel
 * must be given for them (it refuses extern linkage).
 *
 * @packageDocumentation
 */
import type { Btf } from "./btf.js";
import { BtfError } from "./errors.js";
import { BtfIntEncoding, type BtfDatasec, type BtfType } from "./types.js";

/** The section of kconfig externs: one internal map holds their values. */
export const KCONFIG_SECTION = ".kconfig";
/** The section of kernel-symbol externs (variables and kfuncs). */
export const KSYMS_SECTION = ".ksyms";

/** How a kconfig value is stored (libbpf `enum kcfg_type`). */
export type KconfigType = "bool" | "char" | "int" | "tristate" | "char-array";

interface ExternBase {
  /** The extern's name (with any `___flavor` suffix). */
  readonly name: string;
  /** The name without its `___flavor` suffix, used to find the kernel's symbol. */
  readonly essentialName: string;
  /** `__weak`: may stay unresolved (then it is zero, or a poisoned call for a kfunc). */
  readonly weak: boolean;
  /** The extern's VAR or FUNC type id in the object's BTF. */
  readonly btfId: number;
  /** Index in libbpf's sorted extern list (kconfig first, then ksyms; the poisoned-call number). */
  readonly index: number;
}

/** A `__kconfig` extern: a value in the `.kconfig` map. */
export interface KconfigExtern extends ExternBase {
  readonly kind: "kconfig";
  /** The value's type id (the VAR's type). */
  readonly typeId: number;
  readonly type: KconfigType;
  /** For `int`: whether the C type is signed. */
  readonly signed: boolean;
  readonly size: number;
  readonly align: number;
  /** Offset in the `.kconfig` map's value. */
  readonly offset: number;
}

/** A `__ksym` variable: typed (a BTF id in the kernel) or typeless (an address from kallsyms). */
export interface KsymExtern extends ExternBase {
  readonly kind: "ksym";
  /** The variable's type id with modifiers and typedefs skipped; 0 for `const void` (typeless). */
  readonly typeId: number;
}

/** A kfunc prototype declared `__ksym`. */
export interface KfuncExtern extends ExternBase {
  readonly kind: "kfunc";
  /** The FUNC_PROTO type id. */
  readonly typeId: number;
}

/** Any extern. */
export type Extern = KconfigExtern | KsymExtern | KfuncExtern;

/** The externs of an object and the size of its `.kconfig` map value (0 when it has none). */
export interface ObjectExterns {
  readonly externs: readonly Extern[];
  readonly kconfigSize: number;
}

/**
 * libbpf `bpf_core_essential_name_len`: `foo___v2` → `foo`. The suffix starts at the last `___`
 * with a character other than `_` on each side (`x___y`), so `foo___`, `foo____bar` and `___x`
 * have none.
 */
export function essentialName(name: string): string {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== "_" && name[i + 1] === "_" && name[i + 2] === "_" && name[i + 3] === "_" && name[i + 4] !== "_") return name.slice(0, i + 1);
  }
  return name;
}

function bad(message: string, btfTypeId?: number, btfKind?: string): BtfError {
  return new BtfError("BTF_BAD_EXTERN", message, { btfTypeId, btfKind });
}

/** Skip modifiers and typedefs (libbpf `skip_mods_and_typedefs`). */
function skipMods(btf: Btf, id: number): [number, BtfType] {
  for (let steps = 0; ; steps++) {
    const t = btf.type(id);
    if ((t.kind === "TYPEDEF" || t.kind === "CONST" || t.kind === "VOLATILE" || t.kind === "RESTRICT" || t.kind === "TYPE_TAG") && steps <= btf.count) id = t.type;
    else return [id, t];
  }
}

/** libbpf `find_kcfg_type`. */
function kconfigType(btf: Btf, id: number): { type: KconfigType; signed: boolean } | undefined {
  const [, t] = skipMods(btf, id);
  switch (t.kind) {
    case "INT": {
      if (t.encoding & BtfIntEncoding.BOOL) return t.size === 1 ? { type: "bool", signed: false } : undefined;
      const signed = (t.encoding & BtfIntEncoding.SIGNED) !== 0;
      if (t.size === 1) return { type: "char", signed };
      if (t.size < 1 || t.size > 8 || (t.size & (t.size - 1)) !== 0) return undefined;
      return { type: "int", signed };
    }
    case "ENUM":
      return t.size === 4 && t.name === "libbpf_tristate" ? { type: "tristate", signed: false } : undefined;
    case "ENUM64":
      return t.name === "libbpf_tristate" ? { type: "tristate", signed: false } : undefined;
    case "ARRAY":
      return t.nelems > 0 && kconfigType(btf, t.type)?.type === "char" ? { type: "char-array", signed: false } : undefined;
    default:
      return undefined;
  }
}

/** The DATASEC listing type `id`, if any. */
function sectionOf(btf: Btf, id: number): [number, BtfDatasec] | undefined {
  for (let i = 1; i < btf.count; i++) {
    const t = btf.types[i]!;
    if (t.kind === "DATASEC" && t.vars.some((v) => v.type === id)) return [i, t];
  }
  return undefined;
}

/** libbpf `cmp_externs`: kconfig before ksyms; kconfig by alignment (descending), size, then name. */
function compare(a: { kind: string; name: string; align?: number; size?: number }, b: typeof a): number {
  const rank = (k: string) => (k === "kconfig" ? 0 : 1);
  if (rank(a.kind) !== rank(b.kind)) return rank(a.kind) - rank(b.kind);
  if (a.kind === "kconfig") {
    if (a.align !== b.align) return b.align! - a.align!;
    if (a.size !== b.size) return a.size! - b.size!;
  }
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Find the object's externs (libbpf `bpf_object__collect_externs`). `symbols` are the ELF extern
 * symbols (undefined, GLOBAL or WEAK, NOTYPE). The `.kconfig` DATASEC of `btf` is laid out in
 * place: its size and VAR offsets set, VARs sorted by offset (libbpf does both at open).
 * @throws BtfError `BTF_BAD_EXTERN` for an extern with no BTF, in another section, or of a type
 *   kconfig cannot hold — libbpf refuses such objects at open too.
 */
export function collectExterns(btf: Btf | undefined, symbols: readonly { name: string; weak: boolean }[]): ObjectExterns {
  const named = symbols.filter((s) => s.name);
  if (!named.length) return { externs: [], kconfigSize: 0 };
  if (!btf) throw bad(`extern '${named[0]!.name}' needs BTF to be resolved, and the object has none`);
  const byName = new Map<string, number>();
  for (let i = 1; i < btf.count; i++) {
    const t = btf.types[i]!;
    if ((t.kind === "VAR" || t.kind === "FUNC") && !byName.has(t.name)) byName.set(t.name, i);
  }
  type Draft = { kind: Extern["kind"]; name: string; weak: boolean; btfId: number; typeId: number; type?: KconfigType; signed?: boolean; size?: number; align?: number };
  const drafts: Draft[] = [];
  for (const sym of named) {
    const id = byName.get(sym.name);
    if (id === undefined) throw bad(`failed to find BTF for extern '${sym.name}'`);
    const t = btf.type(id);
    if (t.kind !== "VAR" && t.kind !== "FUNC") throw bad(`extern '${sym.name}' is ${t.kind} in BTF`, id, t.kind);
    if (t.linkage !== "extern") throw bad(`extern '${sym.name}': its BTF ${t.kind} [${id}] is not declared extern (linkage ${t.linkage})`, id, t.kind);
    const sec = sectionOf(btf, id);
    if (!sec) throw bad(`extern '${sym.name}' [${id}] is in no BTF DATASEC (declare it __kconfig or __ksym)`, id, t.kind);
    const secName = sec[1].name;
    if (secName === KCONFIG_SECTION) {
      if (t.kind === "FUNC") throw bad(`extern function '${sym.name}' is unsupported under the ${KCONFIG_SECTION} section`, id, t.kind);
      const k = kconfigType(btf, t.type);
      if (!k) throw bad(`extern (kcfg) '${sym.name}': type is unsupported (kconfig values are bool, char, 1/2/4/8-byte integers, enum libbpf_tristate or char arrays)`, id, t.kind);
      drafts.push({ kind: "kconfig", name: sym.name, weak: sym.weak, btfId: id, typeId: t.type, ...k, size: btf.sizeof(t.type), align: btf.alignof(t.type) });
    } else if (secName === KSYMS_SECTION) {
      drafts.push(t.kind === "FUNC"
        ? { kind: "kfunc", name: sym.name, weak: sym.weak, btfId: id, typeId: t.type }
        : { kind: "ksym", name: sym.name, weak: sym.weak, btfId: id, typeId: skipMods(btf, t.type)[0] });
    } else {
      throw bad(`extern '${sym.name}' is in unrecognized section '${secName}' (expected ${KCONFIG_SECTION} or ${KSYMS_SECTION})`, id, t.kind);
    }
  }
  drafts.sort(compare);
  let off = 0;
  const externs: Extern[] = drafts.map((d, index) => {
    const base = { name: d.name, essentialName: essentialName(d.name), weak: d.weak, btfId: d.btfId, index, typeId: d.typeId };
    if (d.kind !== "kconfig") return { ...base, kind: d.kind };
    const offset = Math.ceil(off / d.align!) * d.align!;
    off = offset + d.size!;
    return { ...base, kind: "kconfig", type: d.type!, signed: d.signed!, size: d.size!, align: d.align!, offset };
  });
  layOutKconfig(btf, externs, off);
  return { externs, kconfigSize: off };
}

/** Size the `.kconfig` DATASEC and give its VARs their offsets, sorted by offset (libbpf). */
function layOutKconfig(btf: Btf, externs: readonly Extern[], size: number): void {
  const id = btf.find(KCONFIG_SECTION, "DATASEC");
  if (id === undefined) return;
  const sec = btf.type(id, "DATASEC");
  const byVar = new Map(externs.filter((e): e is KconfigExtern => e.kind === "kconfig").map((e) => [e.btfId, e]));
  for (const v of sec.vars) {
    const e = byVar.get(v.type);
    if (!e) throw bad(`failed to find the extern of ${KCONFIG_SECTION} entry [${v.type}] ${btf.type(v.type).name}`, v.type);
    v.offset = e.offset;
    v.size = e.size;
  }
  sec.vars.sort((a, b) => a.offset - b.offset);
  sec.size = size;
}

/**
 * The object's BTF as the kernel must get it when it has externs (libbpf does this at open):
 * `.kconfig` VARs get allocated (global) linkage; `.ksyms` entries become 4-byte int VARs at
 * 4-byte steps, kfunc FUNCs are replaced in the DATASEC by a `dummy_ksym` VAR and given global
 * linkage, their unnamed parameters named after it. Returns `btf` itself when there is nothing to
 * do, else an edited clone (or `btf`, edited, when `owned`).
 */
export function btfForKernelWithExterns(btf: Btf, owned = false): Btf {
  const kcfg = btf.find(KCONFIG_SECTION, "DATASEC");
  const ksyms = btf.find(KSYMS_SECTION, "DATASEC");
  if (kcfg === undefined && ksyms === undefined) return btf;
  const out = owned ? btf : btf.clone();
  if (kcfg !== undefined) {
    for (const v of out.type(kcfg, "DATASEC").vars) {
      const t = out.type(v.type);
      if (t.kind === "VAR") t.linkage = "global";
    }
  }
  if (ksyms !== undefined) {
    const sec = out.type(ksyms, "DATASEC");
    // libbpf find_int_btf_id: the first 32-bit INT (0, void, when there is none).
    let intId = 0;
    for (let i = 1; i < out.count; i++) {
      const t = out.types[i]!;
      if (t.kind === "INT" && t.bits === 32) {
        intId = i;
        break;
      }
    }
    let dummy = 0;
    if (sec.vars.some((v) => out.type(v.type).kind === "FUNC")) dummy = out.add({ kind: "VAR", name: "dummy_ksym", type: intId, linkage: "global" });
    sec.vars.forEach((v, i) => {
      const t = out.type(v.type);
      if (t.kind === "FUNC") {
        const proto = out.type(t.type);
        if (proto.kind === "FUNC_PROTO") for (const p of proto.params) if (p.type && !p.name) p.name = "dummy_ksym";
        t.linkage = "global";
        v.type = dummy;
      } else if (t.kind === "VAR") {
        t.linkage = "global";
        t.type = intId;
      }
      v.offset = i * 4;
      v.size = 4;
    });
    sec.size = sec.vars.length * 4;
  }
  return out;
}
