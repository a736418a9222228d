/**
 * Binary layouts of every BTF and BTF.ext record (include/uapi/linux/btf.h,
 * tools/lib/bpf/libbpf_internal.h), each declared exactly once.
 *
 * @packageDocumentation
 */
import { struct } from "@x/elf/layout";
import type { BtfKind } from "./types.js";

/** `struct btf_header` (24 bytes; a longer `hdr_len` is allowed and skipped). */
export const BtfHeaderLayout = struct("btf_header", [
  ["magic", "u16"],
  ["version", "u8"],
  ["flags", "u8"],
  ["hdr_len", "u32"],
  ["type_off", "u32"],
  ["type_len", "u32"],
  ["str_off", "u32"],
  ["str_len", "u32"],
]);

/** `struct btf_type`: common prefix of every type record. */
export const BtfTypeLayout = struct("btf_type", [
  ["name_off", "u32"],
  ["info", "u32"],
  /** `size` or `type`, depending on the kind. */
  ["size_type", "u32"],
]);

/** The u32 that follows an INT's `btf_type`. */
export const BtfIntLayout = struct("btf_int", [["encoding", "u32"]]);

/** `struct btf_array`. */
export const BtfArrayLayout = struct("btf_array", [
  ["type", "u32"],
  ["index_type", "u32"],
  ["nelems", "u32"],
]);

/** `struct btf_member` (STRUCT/UNION members). */
export const BtfMemberLayout = struct("btf_member", [
  ["name_off", "u32"],
  ["type", "u32"],
  ["offset", "u32"],
]);

/** `struct btf_enum`. */
export const BtfEnumLayout = struct("btf_enum", [
  ["name_off", "u32"],
  ["val", "i32"],
]);

/** `struct btf_enum64`. */
export const BtfEnum64Layout = struct("btf_enum64", [
  ["name_off", "u32"],
  ["val_lo32", "u32"],
  ["val_hi32", "u32"],
]);

/** `struct btf_param` (FUNC_PROTO parameters). */
export const BtfParamLayout = struct("btf_param", [
  ["name_off", "u32"],
  ["type", "u32"],
]);

/** `struct btf_var`. */
export const BtfVarLayout = struct("btf_var", [["linkage", "u32"]]);

/** `struct btf_var_secinfo` (DATASEC entries). */
export const BtfVarSecinfoLayout = struct("btf_var_secinfo", [
  ["type", "u32"],
  ["offset", "u32"],
  ["size", "u32"],
]);

/** `struct btf_decl_tag`. */
export const BtfDeclTagLayout = struct("btf_decl_tag", [["component_idx", "i32"]]);

/**
 * What follows the 12-byte `btf_type` of each kind: a fixed record, or `vlen` entries of one
 * layout (kinds not listed have nothing after it; FUNC's vlen is its linkage, not a count).
 */
const TYPE_TAIL: Partial<Record<BtfKind, { readonly fixed: number } | { readonly perEntry: number }>> = {
  INT: { fixed: BtfIntLayout.size },
  ARRAY: { fixed: BtfArrayLayout.size },
  STRUCT: { perEntry: BtfMemberLayout.size },
  UNION: { perEntry: BtfMemberLayout.size },
  ENUM: { perEntry: BtfEnumLayout.size },
  ENUM64: { perEntry: BtfEnum64Layout.size },
  FUNC_PROTO: { perEntry: BtfParamLayout.size },
  VAR: { fixed: BtfVarLayout.size },
  DATASEC: { perEntry: BtfVarSecinfoLayout.size },
  DECL_TAG: { fixed: BtfDeclTagLayout.size },
};

/**
 * Bytes that follow the common `btf_type` (12 bytes) of a type record of `kind` whose info word
 * has `vlen`: the record is `BtfTypeLayout.size + btfTypeExtraSize(kind, vlen)` bytes long. The one
 * table of record sizes, for the parser, the encoder and raw walks over kernel BTF.
 */
export function btfTypeExtraSize(kind: BtfKind, vlen: number): number {
  const tail = TYPE_TAIL[kind];
  if (!tail) return 0;
  return "fixed" in tail ? tail.fixed : tail.perEntry * vlen;
}

/** `struct btf_ext_header` up to `line_info_len` (the minimum `hdr_len`). */
export const BtfExtHeaderLayout = struct("btf_ext_header", [
  ["magic", "u16"],
  ["version", "u8"],
  ["flags", "u8"],
  ["hdr_len", "u32"],
  ["func_info_off", "u32"],
  ["func_info_len", "u32"],
  ["line_info_off", "u32"],
  ["line_info_len", "u32"],
]);

/** The optional CO-RE part of `struct btf_ext_header`, present when `hdr_len >= 32`. */
export const BtfExtCoreHeaderLayout = struct("btf_ext_header_core", [
  ["core_relo_off", "u32", 24],
  ["core_relo_len", "u32", 28],
]);

/** `struct btf_ext_info_sec` header (followed by `num_info` records of `rec_size` bytes). */
export const BtfExtInfoSecLayout = struct("btf_ext_info_sec", [
  ["sec_name_off", "u32"],
  ["num_info", "u32"],
]);

/** The `rec_size` u32 that starts every .BTF.ext info subsection. */
export const BtfExtRecSizeLayout = struct("btf_ext_rec_size", [["rec_size", "u32"]]);

/** `struct bpf_func_info`. */
export const BpfFuncInfoLayout = struct("bpf_func_info", [
  ["insn_off", "u32"],
  ["type_id", "u32"],
]);

/** `struct bpf_line_info`. */
export const BpfLineInfoLayout = struct("bpf_line_info", [
  ["insn_off", "u32"],
  ["file_name_off", "u32"],
  ["line_off", "u32"],
  ["line_col", "u32"],
]);

/** `struct bpf_core_relo`. */
export const BpfCoreReloLayout = struct("bpf_core_relo", [
  ["insn_off", "u32"],
  ["type_id", "u32"],
  ["access_str_off", "u32"],
  ["kind", "u32"],
]);
