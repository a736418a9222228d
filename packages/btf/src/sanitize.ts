/**
 * BTF sanitising for older kernels, rule for rule as libbpf's `bpf_object__sanitize_btf`:
 * every kind (or use of a kind) the running kernel does not know is rewritten in place into
 * one it does, so type ids stay stable (only ENUM64 sanitising appends one type, at the end).
 *
 * @packageDocumentation
 */
import type { Btf } from "./btf.js";
import type { BtfInt, BtfMember, BtfType } from "./types.js";

/**
 * The kernel BTF features that sanitising can stand in for. The names are `@x/sys`'s feature
 * probe names, so a loader can pass `BTF_SANITIZE_FEATURES.filter((f) => !hasFeature(f))`.
 */
export const BTF_SANITIZE_FEATURES = [
  "btf_func",
  "btf_global_func",
  "btf_datasec",
  "btf_qmark_datasec",
  "btf_float",
  "btf_decl_tag",
  "btf_type_tag",
  "btf_enum64",
] as const;

/** One BTF feature that {@link sanitizeBtf} can work around. */
export type BtfSanitizeFeature = (typeof BTF_SANITIZE_FEATURES)[number];

/** The features the running kernel lacks (a set, an array, or any iterable of names). */
export type BtfFeatureSet = Iterable<BtfSanitizeFeature>;

/** Result of {@link sanitizeBtf}. */
export interface SanitizedBtf {
  /** A sanitised clone (the input is not modified). Same type ids; maybe one type appended. */
  btf: Btf;
  /** One line per rule that changed something, e.g. `"btf_datasec: 3 DATASEC → STRUCT"`; empty when nothing changed. */
  changed: string[];
}

/** Name of the INT that ENUM64 members point at once ENUM64 becomes a UNION (as libbpf names it). */
export const ENUM64_PLACEHOLDER = "enum64_placeholder";

/** The 1-byte INT libbpf puts in place of a VAR or DECL_TAG ("4 would be too big for a smaller variable"). */
function byteInt(name: string): BtfInt {
  return { kind: "INT", name, size: 1, encoding: 0, offset: 0, bits: 8 };
}

/**
 * Rewrite the BTF for a kernel that lacks the features in `missing`, exactly as libbpf does
 * (`bpf_object__sanitize_btf`, one `else if` chain per type, in this order). Split BTF: only its
 * own types are rewritten (the base's are shared with the base, and the kernel has them already).
 *
 * | missing | rewrite |
 * |---|---|
 * | `btf_datasec` or `btf_decl_tag` | VAR / DECL_TAG → INT of 1 byte, 8 bits, same name |
 * | `btf_datasec` | DATASEC → STRUCT of the same size, one member per entry: the VAR's name and id, bit offset = byte offset × 8; `.` and `?` in the name → `_` |
 * | `btf_qmark_datasec` | a DATASEC named `?…` → `_…` |
 * | `btf_func` | FUNC_PROTO → 4-byte unsigned ENUM, one enumerator per parameter (param name, value = param type id); FUNC → TYPEDEF |
 * | `btf_global_func` | FUNC → static linkage |
 * | `btf_float` | FLOAT → anonymous STRUCT of the same size, no members |
 * | `btf_type_tag` | TYPE_TAG → anonymous CONST of the same type |
 * | `btf_enum64` | ENUM: signed flag cleared (values kept as u32); ENUM64 → UNION of the same size, one member per enumerator (its name), each of type `enum64_placeholder`: a 1-byte INT appended once |
 *
 * libbpf renames a DATASEC by editing its string in place, which would also rename any other
 * type sharing that string offset; our types hold names by value, so only the DATASEC is renamed.
 */
export function sanitizeBtf(btf: Btf, missing: BtfFeatureSet): SanitizedBtf {
  const m = new Set<string>(missing);
  const out = btf.clone();
  const noDatasec = m.has("btf_datasec");
  const noDeclTag = m.has("btf_decl_tag");
  const noQmark = m.has("btf_qmark_datasec");
  const noFunc = m.has("btf_func");
  const noGlobalFunc = m.has("btf_global_func");
  const noFloat = m.has("btf_float");
  const noTypeTag = m.has("btf_type_tag");
  const noEnum64 = m.has("btf_enum64");
  const counts = new Map<string, number>();
  const count = (what: string) => counts.set(what, (counts.get(what) ?? 0) + 1);
  const types = out.types;
  let placeholder = 0;

  // As libbpf, the bound is re-read each time: the appended placeholder is visited too (an INT: no change).
  for (let id = out.startId; id < types.length; id++) {
    const t = types[id]!;
    let r: BtfType | undefined;
    if ((noDatasec && t.kind === "VAR") || (noDeclTag && t.kind === "DECL_TAG")) {
      r = byteInt(t.name);
      count(t.kind === "VAR" ? "btf_datasec: VAR → INT" : "btf_decl_tag: DECL_TAG → INT");
    } else if (noDatasec && t.kind === "DATASEC") {
      const members: BtfMember[] = t.vars.map((v) => ({
        name: types[v.type]?.name ?? "",
        type: v.type,
        // libbpf computes this in a __u32.
        bitOffset: (v.offset * 8) % 0x1_0000_0000,
        bitSize: 0,
      }));
      r = { kind: "STRUCT", name: t.name.replace(/[.?]/g, "_"), size: t.size, kindFlag: false, members };
      count("btf_datasec: DATASEC → STRUCT");
    } else if (noQmark && t.kind === "DATASEC" && t.name.startsWith("?")) {
      t.name = `_${t.name.slice(1)}`;
      count("btf_qmark_datasec: '?' DATASEC name → '_'");
    } else if (noFunc && t.kind === "FUNC_PROTO") {
      r = { kind: "ENUM", name: t.name, size: 4, signed: false, values: t.params.map((p) => ({ name: p.name, value: p.type })) };
      count("btf_func: FUNC_PROTO → ENUM");
    } else if (noFunc && t.kind === "FUNC") {
      r = { kind: "TYPEDEF", name: t.name, type: t.type };
      count("btf_func: FUNC → TYPEDEF");
    } else if (noGlobalFunc && t.kind === "FUNC") {
      if (t.linkage !== "static") count("btf_global_func: FUNC linkage → static");
      t.linkage = "static";
    } else if (noFloat && t.kind === "FLOAT") {
      r = { kind: "STRUCT", name: "", size: t.size, kindFlag: false, members: [] };
      count("btf_float: FLOAT → STRUCT");
    } else if (noTypeTag && t.kind === "TYPE_TAG") {
      r = { kind: "CONST", name: "", type: t.type };
      count("btf_type_tag: TYPE_TAG → CONST");
    } else if (noEnum64 && t.kind === "ENUM") {
      if (t.signed) {
        t.signed = false;
        for (const v of t.values) v.value >>>= 0;
        count("btf_enum64: ENUM signed flag cleared");
      }
    } else if (noEnum64 && t.kind === "ENUM64") {
      if (placeholder === 0) placeholder = out.add(byteInt(ENUM64_PLACEHOLDER));
      const ph = placeholder;
      r = {
        kind: "UNION", name: t.name, size: t.size, kindFlag: false,
        members: t.values.map((v) => ({ name: v.name, type: ph, bitOffset: 0, bitSize: 0 })),
      };
      count("btf_enum64: ENUM64 → UNION");
    }
    if (r) types[id] = r;
  }
  const changed = [...counts].map(([what, n]) => `${what} (${n})`);
  if (placeholder) changed.push(`btf_enum64: added INT '${ENUM64_PLACEHOLDER}' as type [${placeholder}]`);
  return { btf: out, changed };
}
