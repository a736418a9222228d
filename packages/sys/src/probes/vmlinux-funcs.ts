/**
 * Find kernel functions by name in the running kernel's BTF (`/sys/kernel/btf/vmlinux`), for the
 * kfunc probe. A deliberately small walk of the raw type section (record sizes from
 * `@x/btf`'s {@link btfTypeExtraSize}, FUNC names only) instead of a full parse: a probe must stay
 * cheap and must not need the loader to set anything up.
 *
 * @packageDocumentation
 */
import { BTF_KIND_NAMES, BtfHeaderLayout, BtfKindId, BtfTypeLayout, btfTypeExtraSize } from "@x/btf";
import { vmlinuxBtfBytes } from "../kernel/vmlinux.js";

/**
 * The BTF ids of the FUNCs named in `names` (missing names are left out), from raw BTF of either
 * byte order. Throws on a blob it cannot walk (bad magic, sections past the end, an unknown kind).
 */
export function findFuncIds(btf: Uint8Array, names: readonly string[]): Map<string, number> {
  return findNamedTypeIds(btf, names, BtfKindId.FUNC);
}

/**
 * The BTF ids of the types of kind `kind` (a `BTF_KIND_*` number: FUNC, VAR…) named in `names`,
 * the first of each name (missing names are left out). Same walk and errors as {@link findFuncIds}.
 */
export function findNamedTypeIds(btf: Uint8Array, names: readonly string[], kind: number): Map<string, number> {
  return new Map([...findNamedTypes(btf, names, kind)].map(([n, t]) => [n, t.id]));
}

/**
 * {@link findNamedTypeIds}, with each type's `size` field too (the size of a STRUCT, UNION, INT, ENUM…;
 * for the other kinds the field is a type id).
 */
export function findNamedTypes(btf: Uint8Array, names: readonly string[], kind: number): Map<string, { id: number; size: number }> {
  const dv = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  if (btf.byteLength < BtfHeaderLayout.size) throw new Error("not BTF (shorter than a header)");
  const le = dv.getUint16(0, true) === 0xeb9f;
  const h = BtfHeaderLayout.read(btf, 0, le);
  if (h.magic !== 0xeb9f) throw new Error("not BTF (bad magic)");
  const typeStart = h.hdr_len + h.type_off, typeEnd = typeStart + h.type_len;
  const strStart = h.hdr_len + h.str_off;
  if (typeEnd > btf.byteLength || strStart + h.str_len > btf.byteLength) throw new Error("BTF sections run past the end of the blob");
  const wanted = new Map(names.map((n) => [n, new TextEncoder().encode(`${n}\0`)]));
  const found = new Map<string, { id: number; size: number }>();
  let id = 1;
  for (let off = typeStart; off + BtfTypeLayout.size <= typeEnd; id++) {
    const nameOff = dv.getUint32(off, le), info = dv.getUint32(off + 4, le);
    const kindNum = (info >>> 24) & 0x1f, vlen = info & 0xffff;
    const kindName = kindNum >= 1 ? BTF_KIND_NAMES[kindNum] : undefined;
    if (kindName === undefined) throw new Error(`BTF type [${id}] has kind ${kindNum}, which @x/btf does not know`);
    if (kindNum === kind && nameOff < h.str_len) {
      for (const [n, bytes] of wanted) {
        if (found.has(n)) continue;
        let i = 0;
        while (i < bytes.length && btf[strStart + nameOff + i] === bytes[i]) i++;
        if (i === bytes.length) found.set(n, { id, size: dv.getUint32(off + 8, le) });
      }
      if (found.size === wanted.size) break;
    }
    off += BtfTypeLayout.size + btfTypeExtraSize(kindName, vlen);
  }
  return found;
}

/** {@link findFuncIds} over the running kernel's BTF (read once per process: {@link vmlinuxBtfBytes}). */
export function findKernelFuncIds(names: readonly string[]): Map<string, number> {
  return findFuncIds(vmlinuxBtfBytes(), names);
}
