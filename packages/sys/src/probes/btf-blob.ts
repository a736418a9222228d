/**
 * A tiny raw-BTF builder for feature probes: header + type words + string table. Only what
 * the probes need; full BTF encoding lives in `@x/btf`.
 *
 * @packageDocumentation
 */
import { BtfHeaderLayout, BtfKindId } from "@x/btf";
import { LE } from "../util.js";

export { BtfHeaderLayout };

/** BTF kind numbers (`BTF_KIND_INT` … `BTF_KIND_ENUM64`), as declared by @x/btf (without the void pseudo-kind). */
export const BtfKind: Omit<typeof BtfKindId, "VOID"> = (({ VOID: _void, ...kinds }) => kinds)(BtfKindId);

/** `BTF_INFO_ENC(kind, kind_flag, vlen)`. */
export function btfInfo(kind: number, kflag: number, vlen: number): number {
  return ((kflag << 31) | ((kind & 0x1f) << 24) | (vlen & 0xffff)) >>> 0;
}

/** `BTF_TYPE_ENC(name, info, size_or_type)`: the three words of `struct btf_type`. */
export function btfType(name: number, info: number, sizeOrType: number): number[] {
  return [name, info, sizeOrType];
}

/** `BTF_TYPE_INT_ENC(name, encoding, bits_offset, bits, size)`. */
export function btfInt(name: number, encoding: number, bitsOffset: number, bits: number, size: number): number[] {
  return [...btfType(name, btfInfo(BtfKind.INT, 0, 0), size), ((encoding << 24) | (bitsOffset << 16) | bits) >>> 0];
}

/** `BTF_INT_SIGNED`. */
export const BTF_INT_SIGNED = 1;

/**
 * Assemble raw BTF from type words (u32, host order) and a string table that starts with a
 * NUL (like a C string literal, a final NUL is added when missing).
 */
export function buildBtf(types: readonly number[], strings: string): Uint8Array {
  const str = new TextEncoder().encode(strings.endsWith("\0") ? strings : `${strings}\0`);
  const hdr = BtfHeaderLayout.size;
  const typeLen = types.length * 4;
  const out = new Uint8Array(hdr + typeLen + str.byteLength);
  BtfHeaderLayout.write(out, 0, { magic: 0xeb9f, version: 1, flags: 0, hdr_len: hdr, type_off: 0, type_len: typeLen, str_off: typeLen, str_len: str.byteLength }, LE);
  const dv = new DataView(out.buffer);
  types.forEach((w, i) => dv.setUint32(hdr + i * 4, w >>> 0, LE));
  out.set(str, hdr + typeLen);
  return out;
}
