/**
 * The BTF type model: one plain, editable object per type, discriminated on `kind`,
 * with names already resolved from the string table.
 *
 * @packageDocumentation
 */

/** Kind names, indexed by their numeric value (`BTF_KIND_*`). Index 0 is void. */
export const BTF_KIND_NAMES = [
  "VOID", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF", "VOLATILE",
  "CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG", "ENUM64",
] as const;

/** A kind name: `"INT"`, `"STRUCT"`, … (`"VOID"` only for type id 0). */
export type BtfKind = (typeof BTF_KIND_NAMES)[number];

/** Numeric kind values (`BTF_KIND_INT` = 1 … `BTF_KIND_ENUM64` = 19). */
export const BtfKindId: { readonly [K in BtfKind]: number } = Object.fromEntries(
  BTF_KIND_NAMES.map((n, i) => [n, i]),
) as { [K in BtfKind]: number };

/** INT encoding bits (`BTF_INT_SIGNED`, `BTF_INT_CHAR`, `BTF_INT_BOOL`). */
export const BtfIntEncoding = { SIGNED: 1, CHAR: 2, BOOL: 4 } as const;

/** Linkage of a FUNC (`BTF_FUNC_*`) or VAR (`BTF_VAR_*`); numeric values 0, 1, 2. */
export type BtfLinkage = "static" | "global" | "extern";
/** Linkage names by numeric value. */
export const BTF_LINKAGE_NAMES: readonly BtfLinkage[] = ["static", "global", "extern"];

/** The void pseudo-type at id 0. */
export interface BtfVoid { kind: "VOID"; name: "" }

/** `BTF_KIND_INT`. `offset`/`bits` are the legacy in-INT bitfield encoding. */
export interface BtfInt {
  kind: "INT";
  name: string;
  /** Size in bytes. */
  size: number;
  /** Encoding bits, see {@link BtfIntEncoding}. */
  encoding: number;
  /** BTF_INT_OFFSET: bit offset of the value (usually 0). */
  offset: number;
  /** BTF_INT_BITS: number of significant bits. */
  bits: number;
}

/** A kind whose only payload is a referenced type. */
export interface BtfRefType<K extends "PTR" | "TYPEDEF" | "VOLATILE" | "CONST" | "RESTRICT"> {
  kind: K;
  name: string;
  /** Referenced type id. */
  type: number;
}
/** `BTF_KIND_PTR`. */
export type BtfPtr = BtfRefType<"PTR">;
/** `BTF_KIND_TYPEDEF`. */
export type BtfTypedef = BtfRefType<"TYPEDEF">;
/** `BTF_KIND_VOLATILE`. */
export type BtfVolatile = BtfRefType<"VOLATILE">;
/** `BTF_KIND_CONST`. */
export type BtfConst = BtfRefType<"CONST">;
/** `BTF_KIND_RESTRICT`. */
export type BtfRestrict = BtfRefType<"RESTRICT">;

/** `BTF_KIND_TYPE_TAG`. `attr` is the kind_flag (the tag is an attribute, `btf_type_tag` with kflag). */
export interface BtfTypeTag { kind: "TYPE_TAG"; name: string; type: number; attr: boolean }

/** `BTF_KIND_ARRAY`. */
export interface BtfArray {
  kind: "ARRAY";
  name: string;
  /** Element type id. */
  type: number;
  /** Index type id. */
  indexType: number;
  /** Number of elements. */
  nelems: number;
}

/** One STRUCT/UNION member. */
export interface BtfMember {
  name: string;
  type: number;
  /** Offset from the start of the struct, in bits. */
  bitOffset: number;
  /** Bitfield width in bits; 0 for ordinary members (always 0 without kind_flag). */
  bitSize: number;
}

/** `BTF_KIND_STRUCT` / `BTF_KIND_UNION`. */
export interface BtfComposite<K extends "STRUCT" | "UNION"> {
  kind: K;
  name: string;
  /** Size in bytes. */
  size: number;
  /** kind_flag: member offsets carry a bitfield size (`bitSize << 24 | bitOffset`). */
  kindFlag: boolean;
  members: BtfMember[];
}
/** `BTF_KIND_STRUCT`. */
export type BtfStruct = BtfComposite<"STRUCT">;
/** `BTF_KIND_UNION`. */
export type BtfUnion = BtfComposite<"UNION">;

/** One ENUM value (`value` is s32 when `signed`, else u32). */
export interface BtfEnumValue { name: string; value: number }
/** `BTF_KIND_ENUM`. */
export interface BtfEnum {
  kind: "ENUM";
  name: string;
  /** Size in bytes (1, 2, 4 or 8). */
  size: number;
  /** kind_flag: the values are signed. */
  signed: boolean;
  values: BtfEnumValue[];
}

/** One ENUM64 value (`value` is s64 when `signed`, else u64). */
export interface BtfEnum64Value { name: string; value: bigint }
/** `BTF_KIND_ENUM64`. */
export interface BtfEnum64 {
  kind: "ENUM64";
  name: string;
  size: number;
  signed: boolean;
  values: BtfEnum64Value[];
}

/** `BTF_KIND_FWD`. `union` is the kind_flag. */
export interface BtfFwd { kind: "FWD"; name: string; union: boolean }

/** `BTF_KIND_FUNC`. The linkage lives in vlen. */
export interface BtfFunc { kind: "FUNC"; name: string; type: number; linkage: BtfLinkage }

/** One FUNC_PROTO parameter. A trailing `{ name: "", type: 0 }` means `...`. */
export interface BtfParam { name: string; type: number }
/** `BTF_KIND_FUNC_PROTO`. */
export interface BtfFuncProto { kind: "FUNC_PROTO"; name: string; returnType: number; params: BtfParam[] }

/** `BTF_KIND_VAR`. */
export interface BtfVar { kind: "VAR"; name: string; type: number; linkage: BtfLinkage }

/** One DATASEC entry. */
export interface BtfVarSecinfo {
  /** The VAR (or FUNC, for .ksyms) type id. */
  type: number;
  /** Byte offset in the section. */
  offset: number;
  /** Size in bytes. */
  size: number;
}
/** `BTF_KIND_DATASEC`. */
export interface BtfDatasec { kind: "DATASEC"; name: string; size: number; vars: BtfVarSecinfo[] }

/** `BTF_KIND_FLOAT`. */
export interface BtfFloat { kind: "FLOAT"; name: string; size: number }

/** `BTF_KIND_DECL_TAG`. `componentIdx` -1 tags the type itself, otherwise a member/param index. */
export interface BtfDeclTag { kind: "DECL_TAG"; name: string; type: number; componentIdx: number; attr: boolean }

/** Any BTF type, discriminated on `kind`. */
export type BtfType =
  | BtfVoid | BtfInt | BtfPtr | BtfArray | BtfStruct | BtfUnion | BtfEnum | BtfFwd | BtfTypedef
  | BtfVolatile | BtfConst | BtfRestrict | BtfFunc | BtfFuncProto | BtfVar | BtfDatasec | BtfFloat
  | BtfDeclTag | BtfTypeTag | BtfEnum64;

/** The type object for a given kind name. */
export type BtfTypeOf<K extends BtfKind> = Extract<BtfType, { kind: K }>;

/** Kinds skipped by {@link Btf.resolve}: typedef, qualifiers and type tags. */
export const MODIFIER_KINDS: ReadonlySet<BtfKind> = new Set<BtfKind>(["TYPEDEF", "VOLATILE", "CONST", "RESTRICT", "TYPE_TAG"]);

/**
 * Every type id a type refers to, in record order.
 * Used for validation and for remapping.
 */
export function typeRefs(t: BtfType): number[] {
  switch (t.kind) {
    case "PTR": case "TYPEDEF": case "VOLATILE": case "CONST": case "RESTRICT": case "TYPE_TAG":
    case "FUNC": case "VAR": case "DECL_TAG":
      return [t.type];
    case "ARRAY": return [t.type, t.indexType];
    case "STRUCT": case "UNION": return t.members.map((m) => m.type);
    case "FUNC_PROTO": return [t.returnType, ...t.params.map((p) => p.type)];
    case "DATASEC": return t.vars.map((v) => v.type);
    default: return [];
  }
}
