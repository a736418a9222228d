/**
 * Find kernel functions by name in the running kernel's BTF (`/sys/kernel/btf/vmlinux`), for the
 * kfunc probe. A deliberately tiny walk of the raw type section (record sizes and FUNC names only):
 * `@x/sys` does not depend on `@x/btf`, and a probe must not need the loader to set anything up.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { BtfHeaderLayout, BtfKind } from "./btf-blob.js";

/** Where the running kernel publishes its BTF. */
export const VMLINUX_BTF_PATH = "/sys/kernel/btf/vmlinux";

/** Bytes after the 12-byte `btf_type` for a kind with `vlen` entries. */
function extraSize(kind: number, vlen: number): number {
  switch (kind) {
    case BtfKind.INT: case BtfKind.VAR: case BtfKind.DECL_TAG: return 4;
    case BtfKind.ARRAY: return 12;
    case BtfKind.STRUCT: case BtfKind.UNION: case BtfKind.DATASEC: case BtfKind.ENUM64: return 12 * vlen;
    case BtfKind.ENUM: case BtfKind.FUNC_PROTO: return 8 * vlen;
    default: return 0;
  }
}

/**
 * The BTF ids of the FUNCs named in `names` (missing names are left out), from raw BTF of either
 * byte order. Throws on a blob it cannot walk.
 */
export function findFuncIds(btf: Uint8Array, names: readonly string[]): Map<string, number> {
  const dv = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  const le = dv.getUint16(0, true) === 0xeb9f;
  const h = BtfHeaderLayout.read(btf, 0, le);
  if (h.magic !== 0xeb9f) throw new Error("not BTF (bad magic)");
  const typeStart = h.hdr_len + h.type_off, typeEnd = typeStart + h.type_len;
  const strStart = h.hdr_len + h.str_off;
  if (typeEnd > btf.byteLength || strStart + h.str_len > btf.byteLength) throw new Error("BTF sections run past the end of the blob");
  const wanted = new Map(names.map((n) => [n, new TextEncoder().encode(`${n}\0`)]));
  const found = new Map<string, number>();
  let id = 1;
  for (let off = typeStart; off + 12 <= typeEnd; id++) {
    const nameOff = dv.getUint32(off, le), info = dv.getUint32(off + 4, le);
    const kind = (info >>> 24) & 0x1f, vlen = info & 0xffff;
    if (kind === BtfKind.FUNC && nameOff < h.str_len) {
      for (const [n, bytes] of wanted) {
        if (found.has(n)) continue;
        let i = 0;
        while (i < bytes.length && btf[strStart + nameOff + i] === bytes[i]) i++;
        if (i === bytes.length) found.set(n, id);
      }
      if (found.size === wanted.size) break;
    }
    off += 12 + extraSize(kind, vlen);
  }
  return found;
}

/** {@link findFuncIds} over the running kernel's BTF. */
export function findKernelFuncIds(names: readonly string[]): Map<string, number> {
  return findFuncIds(new Uint8Array(readFileSync(VMLINUX_BTF_PATH)), names);
}
