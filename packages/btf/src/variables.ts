/**
 * Global variables described by the DATASECs of a BTF.
 *
 * @packageDocumentation
 */
import type { Btf } from "./btf.js";
import type { BtfLinkage } from "./types.js";

/** One variable of a DATASEC. */
export interface BtfVariable {
  /** Variable name. */
  name: string;
  /** Section (DATASEC) name, e.g. `.rodata`. */
  section: string;
  /** Byte offset within the section. */
  offset: number;
  /** Size in bytes (from the DATASEC entry). */
  size: number;
  /** Type id of the variable's type (the VAR's target, not the VAR itself). */
  typeId: number;
  /** The VAR type's id. */
  varId: number;
  /** DATASEC type id. */
  datasecId: number;
  /** VAR linkage. */
  linkage: BtfLinkage;
}

/**
 * Every VAR entry of every DATASEC (split BTF: of its own DATASECs), in type-table then entry order. Offsets are only
 * meaningful after {@link fixupDatasecs}. Non-VAR entries (FUNCs in `.ksyms`) are skipped.
 */
export function variables(btf: Btf): BtfVariable[] {
  const out: BtfVariable[] = [];
  for (let id = btf.startId, n = btf.count; id < n; id++) {
    const t = btf.type(id);
    if (t.kind !== "DATASEC") continue;
    for (const vsi of t.vars) {
      const v = btf.type(vsi.type);
      if (v.kind !== "VAR") continue;
      out.push({ name: v.name, section: t.name, offset: vsi.offset, size: vsi.size, typeId: v.type, varId: vsi.type, datasecId: id, linkage: v.linkage });
    }
  }
  return out;
}
