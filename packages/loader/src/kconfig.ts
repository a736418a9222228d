/**
 * Kconfig values for `__kconfig` externs, as libbpf reads them (`bpf_object__process_kconfig_line`,
 * `set_kcfg_value_*`): `CONFIG_X=y|n|m`, quoted strings and integers, each checked against the C
 * type of the extern it fills. Pure.
 */
import type { KconfigExtern } from "@x/btf";
import { HOST_LITTLE_ENDIAN } from "@x/elf/layout";
import { ObjectError } from "./errors.js";

/**
 * Split config text into `CONFIG_NAME → raw value` with libbpf's rules
 * (`bpf_object__process_kconfig_line`): only lines that start with `CONFIG_` count (comments such
 * as `# CONFIG_X is not set` and blank lines are skipped); the name is what precedes the first
 * `=`, the value everything after it, untouched (quotes kept); the first line of a name wins.
 * @throws ObjectError `OBJECT_BAD_KCONFIG` for a `CONFIG_` line with no `=` or nothing after it.
 */
export function parseKconfigLines(text: string, source = "kconfig", object?: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith("CONFIG_")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) throw new ObjectError("OBJECT_BAD_KCONFIG", `${source}:${i + 1}: '${line}' has no '='`, { object });
    if (eq === line.length - 1) throw new ObjectError("OBJECT_BAD_KCONFIG", `${source}:${i + 1}: '${line}' has no value`, { object });
    const name = line.slice(0, eq);
    if (!out.has(name)) out.set(name, line.slice(eq + 1));
  }
  return out;
}

/** `enum libbpf_tristate`. */
const TRISTATE = { n: 0n, y: 1n, m: 2n } as const;

/**
 * Store `value` (a config file's text) for extern `e` into `image` at the extern's offset, or throw
 * the error libbpf would report. Little-endian hosts only (the object's byte order is the host's).
 */
export function writeKconfigValue(e: KconfigExtern, value: string, image: Uint8Array, object?: string): void {
  const fail = (why: string) => new ObjectError("OBJECT_BAD_KCONFIG", `extern (kcfg) '${e.name}': ${why}`, { object, variable: e.name });
  const at = image.subarray(e.offset, e.offset + e.size);
  const c = value[0];
  if (c === "y" || c === "n" || c === "m") {
    if (e.type === "bool") {
      if (c === "m") throw fail(`value '${c}' implies tristate or char type`);
      at[0] = c === "y" ? 1 : 0;
    } else if (e.type === "tristate") {
      writeInt(at, TRISTATE[c], 4);
    } else if (e.type === "char") {
      at[0] = c.charCodeAt(0);
    } else {
      throw fail(`value '${c}' implies bool, tristate, or char type`);
    }
    return;
  }
  if (c === '"') {
    if (e.type !== "char-array") throw fail(`value '${value}' implies char array type`);
    if (value.length < 2 || !value.endsWith('"')) throw fail(`invalid string config '${value}'`);
    let bytes = new TextEncoder().encode(value.slice(1, -1));
    // libbpf truncates (with a warning) to leave room for the NUL.
    if (bytes.length >= e.size) bytes = bytes.subarray(0, e.size - 1);
    at.fill(0);
    at.set(bytes);
    return;
  }
  const n = parseCInteger(value);
  if (n === undefined) throw fail(`value '${value}' isn't a valid integer`);
  if (e.type !== "int" && e.type !== "char") throw fail(`value '${value}' implies integer type`);
  writeNumber(e, n, at, fail);
}

/** Store a number for a virtual extern (`LINUX_KERNEL_VERSION`…) or a number from a config file: range-checked as libbpf does. */
export function writeKconfigNumber(e: KconfigExtern, n: bigint, image: Uint8Array, object?: string): void {
  const fail = (why: string) => new ObjectError("OBJECT_BAD_KCONFIG", `extern (kcfg) '${e.name}': ${why}`, { object, variable: e.name });
  if (e.type !== "int" && e.type !== "char" && e.type !== "bool") throw fail(`value '${n}' implies integer, char, or boolean type`);
  writeNumber(e, n, image.subarray(e.offset, e.offset + e.size), fail);
}

function writeNumber(e: KconfigExtern, n: bigint, at: Uint8Array, fail: (why: string) => Error): void {
  const v = BigInt.asUintN(64, n);
  if (e.type === "bool" && v > 1n) throw fail(`value '${v}' isn't boolean compatible`);
  // libbpf is_kcfg_value_in_range: the u64 (strtoull's result) must fit the extern's size.
  const bits = BigInt(e.size * 8);
  if (e.size < 8) {
    const fits = e.signed ? BigInt.asUintN(64, v + (1n << (bits - 1n))) < 1n << bits : v >> bits === 0n;
    if (!fits) throw fail(`value '${v}' doesn't fit in ${e.size} bytes`);
  }
  writeInt(at, v, e.size);
}

function writeInt(at: Uint8Array, v: bigint, size: number): void {
  for (let i = 0; i < size; i++) {
    const byte = Number((v >> BigInt(8 * i)) & 0xffn);
    at[HOST_LITTLE_ENDIAN ? i : size - 1 - i] = byte;
  }
}

/** C `strtoull(s, &end, 0)` accepting the whole string: decimal, `0x` hex, `0` octal, an optional sign (wrapping like strtoull). */
function parseCInteger(s: string): bigint | undefined {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  const v = body.startsWith("0x") || body.startsWith("0X") ? BigInt(body) : body.length > 1 && body.startsWith("0") ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
  if (v > 0xffffffffffffffffn) return undefined; // strtoull: ERANGE
  return m[1] === "-" ? BigInt.asUintN(64, -v) : v;
}
