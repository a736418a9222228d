/**
 * Small shared helpers. Internal module.
 *
 * @packageDocumentation
 */
import { HOST_LITTLE_ENDIAN } from "@x/elf/layout";
import { BPF_OBJ_NAME_LEN } from "./abi/consts.js";

/** Host byte order: bpf_attr and info structs are native-endian. */
export const LE = HOST_LITTLE_ENDIAN;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A NUL-terminated copy of `s`. */
export function cString(s: string): Uint8Array {
  const b = enc.encode(s);
  const out = new Uint8Array(b.byteLength + 1);
  out.set(b);
  return out;
}

/**
 * An object name for `map_name` / `prog_name`: at most 15 bytes (longer names are cut, as
 * libbpf does); the kernel accepts only `[A-Za-z0-9_.]`.
 */
export function objName(name: string | undefined): Uint8Array | undefined {
  if (!name) return undefined;
  const b = enc.encode(name);
  return b.subarray(0, Math.min(b.byteLength, BPF_OBJ_NAME_LEN - 1));
}

/** Decode a NUL-padded fixed-size name field. */
export function decodeName(b: Uint8Array): string {
  const end = b.indexOf(0);
  return dec.decode(end < 0 ? b : b.subarray(0, end));
}

/** Decode a log buffer up to its first NUL. */
export function decodeLog(b: Uint8Array): string {
  return decodeName(b);
}
