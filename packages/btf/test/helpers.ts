// Test-only helpers: ELF access (through @x/elf), fixture paths, bpftool access and
// comparison with bpftool's raw JSON. Not part of the package.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { BTF_KIND_NAMES, type Btf, type BtfError, type BtfKind, type BtfType, essentialName, parseBtf, typeRefs } from "@x/btf";
import { ElfFile } from "@x/elf";

export const repo = fileURLToPath(new URL("../../../", import.meta.url));
export const sharedObj = (name: string) => `${repo}fixtures/obj/${name}`;
export const localObj = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
export const SHARED_FIXTURES = ["globals.bpf.o", "sections.bpf.o", "example.bpf.o", "big.bpf.o", "sk_lookup.bpf.o"];

export interface TestElf {
  /** The parsed object (structurally what datasecSourceFromElf takes). */
  file: ElfFile;
  sections: readonly { index: number; name: string; size: number; type: number; data: Uint8Array }[];
  symbols: readonly { name: string; value: number; size: number; type: number; binding: number; visibility: number; sectionIndex: number }[];
  /** Bytes of the section `name` (throws when absent). */
  section(name: string): Uint8Array;
}

/** Parse an object with @x/elf's ElfFile. */
export function readElf(path: string): TestElf {
  const file = ElfFile.parse(new Uint8Array(readFileSync(path)));
  return {
    file,
    sections: file.sections,
    symbols: file.symbols,
    section(name) {
      const s = file.section(name);
      if (!s) throw new Error(`${path}: no section ${name}`);
      return s.data;
    },
  };
}

export const hasBpftool = (() => { try { execFileSync("bpftool", ["version"], { stdio: "ignore" }); return true; } catch { return false; } })();
export const hasVmlinux = existsSync("/sys/kernel/btf/vmlinux");

/** `bpftool btf dump file <path> format raw -j`, parsed; enumerator values are kept exact as decimal strings. */
export function bpftoolRaw(path: string | ["id", number]): { types: Record<string, unknown>[] } {
  const what = typeof path === "string" ? ["file", path] : ["id", String(path[1])];
  const text = execFileSync("bpftool", ["btf", "dump", ...what, "format", "raw", "-j"], { maxBuffer: 1 << 28 }).toString();
  return JSON.parse(text.replace(/"val":\s*(-?\d+)/g, '"val":"$1"'));
}

/** Our type in bpftool's `format raw -j` shape. */
export function asBpftool(id: number, t: BtfType): Record<string, unknown> {
  const name = t.name === "" ? "(anon)" : t.name;
  const base = { id, kind: t.kind, name };
  switch (t.kind) {
    case "INT": {
      const enc = t.encoding & 4 ? "BOOL" : t.encoding & 2 ? "CHAR" : t.encoding & 1 ? "SIGNED" : "(none)";
      return { ...base, size: t.size, bits_offset: t.offset, nr_bits: t.bits, encoding: enc };
    }
    case "PTR": case "TYPEDEF": case "VOLATILE": case "CONST": case "RESTRICT": case "TYPE_TAG":
      return { ...base, type_id: t.type };
    case "ARRAY": return { ...base, type_id: t.type, index_type_id: t.indexType, nr_elems: t.nelems };
    case "STRUCT": case "UNION":
      return {
        ...base, size: t.size, vlen: t.members.length,
        members: t.members.map((m) => ({ name: m.name || "(anon)", type_id: m.type, bits_offset: m.bitOffset, ...(m.bitSize ? { bitfield_size: m.bitSize } : {}) })),
      };
    case "ENUM": case "ENUM64":
      return {
        ...base, encoding: t.signed ? "SIGNED" : "UNSIGNED", size: t.size, vlen: t.values.length,
        values: t.values.map((v) => ({ name: v.name, val: BigInt(v.value) })),
      };
    case "FWD": return { ...base, fwd_kind: t.union ? "union" : "struct" };
    case "FUNC": return { ...base, type_id: t.type, linkage: t.linkage };
    case "FUNC_PROTO":
      return { ...base, ret_type_id: t.returnType, vlen: t.params.length, params: t.params.map((p) => ({ name: p.name || "(anon)", type_id: p.type })) };
    case "VAR": return { ...base, type_id: t.type, linkage: t.linkage };
    case "DATASEC": return { ...base, size: t.size, vlen: t.vars.length, vars: t.vars.map((v) => ({ type_id: v.type, offset: v.offset, size: v.size })) };
    case "FLOAT": return { ...base, size: t.size };
    case "DECL_TAG": return { ...base, type_id: t.type, component_idx: t.componentIdx };
    case "VOID": return base;
  }
}

export function normaliseBpftool(t: Record<string, unknown>): Record<string, unknown> {
  // bpftool 7.1's JSON prints 32-bit ENUM values sign-extended to 64 bits; reduce them to the
  // enum's own signedness (its text output shows the same values).
  if (Array.isArray(t.values)) {
    const signed = t.encoding === "SIGNED";
    const fix = (v: bigint) => (t.kind === "ENUM" ? (signed ? BigInt.asIntN(32, v) : BigInt.asUintN(32, v)) : signed ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v));
    t.values = (t.values as { name: string; val: string }[]).map((v) => ({ name: v.name, val: fix(BigInt(v.val)) }));
  }
  return t;
}

/** Compare every type of `btf` with bpftool's raw JSON dump (of a file, or of `["id", N]`). */
export function compareWithBpftool(btf: Btf, path: string | ["id", number]): void {
  const ref = bpftoolRaw(path).types;
  expect(btf.types.length - 1).toBe(ref.length);
  for (const r of ref) {
    const id = r.id as number;
    expect(asBpftool(id, btf.types[id]!)).toEqual(normaliseBpftool(r));
  }
}

/**
 * `bpftool btf dump file SPLIT -B BASE format raw -j` (libbpf's own split parse, `btf__parse_split`),
 * for files or bytes (written to a scratch folder, removed afterwards).
 */
export function bpftoolSplitRaw(base: Uint8Array | string, split: Uint8Array | string): Record<string, unknown>[] {
  const dir = mkdtempSync(join(tmpdir(), "x-btf-split-"));
  try {
    const file = (b: Uint8Array | string, name: string) => {
      if (typeof b === "string") return b;
      writeFileSync(join(dir, name), b);
      return join(dir, name);
    };
    const args = ["btf", "dump", "file", file(split, "split.btf"), "-B", file(base, "base.btf"), "format", "raw", "-j"];
    const text = execFileSync("bpftool", args, { maxBuffer: 1 << 28 }).toString();
    return (JSON.parse(text.replace(/"val":\s*(-?\d+)/g, '"val":"$1"')) as { types: Record<string, unknown>[] }).types;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Compare a split's own types, field by field, with libbpf's reading of the same bytes on the same base. */
export function expectSplitLikeLibbpf(btf: Btf, base: Uint8Array | string, split: Uint8Array | string): void {
  const ref = bpftoolSplitRaw(base, split);
  expect(ref.length).toBe(btf.count - btf.startId);
  for (const r of ref) expect(asBpftool(r.id as number, btf.type(r.id as number))).toEqual(normaliseBpftool(r));
}

/** The string section of a BTF blob. */
export function btfStringSection(bytes: Uint8Array): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = bytes[0] === 0x9f;
  const hdrLen = dv.getUint32(4, le), strOff = dv.getUint32(16, le), strLen = dv.getUint32(20, le);
  return bytes.subarray(hdrLen + strOff, hdrLen + strOff + strLen);
}

/** Types (or anything with bigints) as comparable text. */
export const snapshot = (x: unknown): string => JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));

/** Every kind a type can have (not VOID). */
export const KINDS = BTF_KIND_NAMES.slice(1) as BtfKind[];

/**
 * Parse lazily, then do everything that decodes or indexes: each own type decoded, the names of every
 * kind indexed, the full name map built. What the eager parser checks at once, a lazy BTF checks by then.
 */
export function parseLazyWalked(bytes: Uint8Array, options: { base?: Btf } = {}): Btf {
  const b = parseBtf(bytes, { ...options, lazy: true });
  for (let id = b.startId; id < b.count; id++) b.type(id);
  b.idsByName("x");
  b.nameIndex();
  return b;
}

/**
 * `lazy` (parsed with `{ lazy: true }`) answers as `eager` (the same bytes parsed eagerly) does: the same
 * ids, every own type equal by id (for split BTF also the base types its own types refer to), the same
 * name lookups (every name, with and without each kind), and, when `deep`, the same resolve/sizeof/alignof
 * (value or error code) for every own id. Checks that `lazy` had decoded nothing before, and that
 * lookups decode nothing.
 */
export function expectLazyLikeEager(eager: Btf, lazy: Btf, deep = true): void {
  expect(lazy.lazyStats()?.decoded).toBe(0);
  expect([lazy.count, lazy.startId, lazy.littleEndian, lazy.base === undefined]).toEqual([eager.count, eager.startId, eager.littleEndian, eager.base === undefined]);
  // Compared in plain code (vmlinux has ~70k names, ~127k types), differences collected and shown at the end.
  const diff: unknown[] = [];
  const same = (what: unknown, got: unknown, want: unknown) => { if (snapshot(got) !== snapshot(want)) diff.push({ what, got, want }); };
  const ei = eager.nameIndex();
  const li = lazy.nameIndex();
  same("nameIndex size", li.size, ei.size);
  for (const [name, ids] of ei) {
    same(["nameIndex", name], li.get(name), ids);
    same(["idsByName", name], lazy.idsByName(name), ids);
    same(["find", name], lazy.find(name), ids[0]);
    same(["findAll", name], lazy.findAll(name), ids);
    for (const k of new Set(ids.map((id) => eager.type(id).kind))) {
      const of = ids.filter((id) => eager.type(id).kind === k);
      same(["idsByName", name, k], lazy.idsByName(name, k), of);
      same(["eager idsByName", name, k], eager.idsByName(name, k), of);
      same(["find", name, k], lazy.find(name, k), of[0]); // eager.find is a linear scan: too slow for every name of vmlinux
    }
    if (diff.length > 20) break;
  }
  same("idsByName('')", lazy.idsByName(""), []);
  // By essential name (CO-RE candidates): against the names' essential names computed here.
  const byEssential = new Map<string, number[]>();
  for (const [name, ids] of ei) {
    const e = essentialName(name);
    byEssential.set(e, [...(byEssential.get(e) ?? []), ...ids].sort((a, b) => a - b));
  }
  for (const [e, ids] of byEssential) {
    same(["idsByEssentialName", e], lazy.idsByEssentialName(e), ids);
    same(["eager idsByEssentialName", e], eager.idsByEssentialName(e), ids);
    for (const k of new Set(ids.map((id) => eager.type(id).kind))) same(["idsByEssentialName", e, k], lazy.idsByEssentialName(e, k), ids.filter((id) => eager.type(id).kind === k));
    if (diff.length > 20) break;
  }
  expect(diff).toEqual([]);
  expect(lazy.lazyStats()!.decoded).toBe(0); // lookups decode nothing
  const first = eager.base ? eager.startId : 0;
  for (let id = first; id < eager.count && diff.length <= 20; id++) {
    const e = eager.type(id);
    const l = lazy.type(id);
    same(["type", id], l, e);
    if (lazy.type(id) !== l) diff.push({ what: ["type decoded again", id] });
    if (eager.base) for (const r of typeRefs(e)) if (r < eager.startId) same(["base type", r], lazy.type(r), eager.type(r));
  }
  expect(diff).toEqual([]);
  expect(() => lazy.type(eager.count)).toThrow(expect.objectContaining({ code: "BTF_BAD_TYPE_ID" }));
  if (!deep) return;
  const outcome = (f: () => unknown) => { try { return f(); } catch (e) { return (e as BtfError).code; } };
  for (let id = first; id < eager.count && diff.length <= 20; id++) {
    same(["resolve", id], outcome(() => lazy.resolve(id)), outcome(() => eager.resolve(id)));
    same(["sizeof", id], outcome(() => lazy.sizeof(id)), outcome(() => eager.sizeof(id)));
    same(["alignof", id], outcome(() => lazy.alignof(id)), outcome(() => eager.alignof(id)));
  }
  expect(diff).toEqual([]);
}
