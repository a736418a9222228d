// sanitizeBtf against libbpf itself: a small C harness (libbpf-sanitize/harness.c, built here with
// gcc against the installed libbpf) makes libbpf believe the kernel lacks some BTF features by
// failing its BTF_LOAD probes, then captures the sanitised BTF libbpf loads for the object, and
// libbpf's unsanitised copy of it. We run sanitizeBtf on that same unsanitised BTF and compare:
//
//  1. field for field: both blobs decoded with parseBtf (kinds, names, sizes, members, offsets,
//     vlen, linkage, enumerators, kind_flag);
//  2. byte for byte: the type sections are equal once every string offset (name_off of types,
//     members, enumerators and params) is set to 0, and the strings at those offsets are equal.
//     The string offsets themselves differ: libbpf keeps the object's string table and edits it
//     in place (".data" -> "_data"), while our encoder writes a fresh, deduplicated one.
//
// Needs root (libbpf's own loading probe), gcc and libbpf-dev; runs on the host, no VM.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  BTF_SANITIZE_FEATURES, type Btf, BtfTypeLayout, datasecSourceFromElf, fixupDatasecs, parseBtf, parseBtfHeader, sanitizeBtf,
  type BtfSanitizeFeature, type BtfType,
} from "@x/btf";
import { localObj, readElf, sharedObj } from "./helpers.js";

const HARNESS_SRC = new URL("./libbpf-sanitize/harness.c", import.meta.url).pathname;
const canRun = (() => {
  if (process.getuid?.() !== 0 || !existsSync("/usr/include/bpf/libbpf.h")) return false;
  try { execFileSync("gcc", ["--version"], { stdio: "ignore" }); return true; } catch { return false; }
})();

let dir = "";
let harness = "";
beforeAll(() => {
  if (!canRun) return;
  dir = mkdtempSync(join(tmpdir(), "x-btf-sanitize-"));
  harness = join(dir, "harness");
  execFileSync("gcc", ["-O1", "-Wall", "-o", harness, HARNESS_SRC, "-rdynamic", "-lbpf", "-ldl"], { stdio: "pipe" });
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** Run libbpf on `obj` with `missing` features: its unsanitised and its sanitised BTF. */
function libbpf(obj: string, missing: readonly string[]): { original: Uint8Array; sanitized: Uint8Array } {
  const out = mkdtempSync(join(dir, "run-"));
  execFileSync(harness, [obj, out, missing.join(",")], { stdio: "pipe" });
  return { original: new Uint8Array(readFileSync(join(out, "original.btf"))), sanitized: new Uint8Array(readFileSync(join(out, "sanitized.btf"))) };
}

/** The type section with every string offset zeroed, and the strings those offsets named, in order. */
function typesWithoutNames(blob: Uint8Array): { bytes: Uint8Array; names: string[] } {
  const h = parseBtfHeader(blob);
  const start = h.hdr_len + h.type_off;
  const bytes = blob.slice(start, start + h.type_len);
  const strs = blob.subarray(h.hdr_len + h.str_off, h.hdr_len + h.str_off + h.str_len);
  expect(bytes.length).toBeGreaterThan(0);
  const dv = new DataView(bytes.buffer);
  const names: string[] = [];
  const name = (at: number) => {
    const off = dv.getUint32(at, true);
    const end = strs.indexOf(0, off);
    names.push(new TextDecoder().decode(strs.subarray(off, end)));
    dv.setUint32(at, 0, true);
  };
  let off = 0;
  while (off < bytes.length) {
    const info = dv.getUint32(off + 4, true);
    const kind = (info >>> 24) & 0x1f, vlen = info & 0xffff;
    name(off);
    off += BtfTypeLayout.size;
    switch (kind) {
      case 1: case 14: case 17: off += 4; break; // INT, VAR, DECL_TAG
      case 3: off += 12; break; // ARRAY
      case 4: case 5: case 6: case 13: case 19: { // STRUCT, UNION, ENUM, FUNC_PROTO, ENUM64: name first in each record
        const rec = kind === 6 || kind === 13 ? 8 : 12;
        for (let i = 0; i < vlen; i++, off += rec) name(off);
        break;
      }
      case 15: off += vlen * 12; break; // DATASEC
    }
  }
  return { bytes, names };
}

/** How many string offsets a type table encodes (one per type, member, enumerator, param). */
function countNames(b: Btf): number {
  return b.types.slice(1).reduce((n, t) => n + 1 + (
    t.kind === "STRUCT" || t.kind === "UNION" ? t.members.length
    : t.kind === "ENUM" || t.kind === "ENUM64" ? t.values.length
    : t.kind === "FUNC_PROTO" ? t.params.length : 0), 0);
}

/** Types comparable with toEqual (ENUM64 values are bigints: fine for toEqual). */
const types = (b: Btf): BtfType[] => b.types;

function compare(obj: string, missing: readonly BtfSanitizeFeature[]): string[] {
  const ref = libbpf(obj, missing);
  const input = parseBtf(ref.original);
  const { btf: ours, changed } = sanitizeBtf(input, missing);
  // not vacuous: libbpf (and we) did rewrite something
  expect(changed.length).toBeGreaterThan(0);
  expect(Buffer.from(ref.sanitized).equals(Buffer.from(ref.original))).toBe(false);
  // 1. field for field
  expect(types(ours)).toEqual(types(parseBtf(ref.sanitized)));
  // 2. byte for byte, string offsets aside
  const a = typesWithoutNames(ours.encode());
  const b = typesWithoutNames(ref.sanitized);
  expect(a.names.length).toBe(countNames(ours));
  expect(a.names).toEqual(b.names);
  expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
  // the input is left alone
  expect(types(input)).toEqual(types(parseBtf(ref.original)));
  return changed;
}

const KINDS = localObj("kinds.bpfel.o");
const GLOBALS = sharedObj("globals.bpf.o");

describe.skipIf(!canRun && !process.env.CI)("sanitizeBtf matches libbpf (installed libbpf, syscall-interposing harness)", () => {
  test("btf_datasec: VAR → 1-byte INT, DATASEC → STRUCT with '.' → '_'", () => {
    const changed = compare(KINDS, ["btf_datasec"]).join("\n");
    expect(changed).toMatch(/VAR → INT/);
    expect(changed).toMatch(/DATASEC → STRUCT/);
    compare(GLOBALS, ["btf_datasec"]);
  });
  test("btf_decl_tag: DECL_TAG → 1-byte INT", () => {
    expect(compare(KINDS, ["btf_decl_tag"])).toEqual(["btf_decl_tag: DECL_TAG → INT (3)"]);
  });
  test("btf_func: FUNC_PROTO → ENUM, FUNC → TYPEDEF", () => {
    expect(compare(KINDS, ["btf_func"]).join("\n")).toMatch(/FUNC_PROTO → ENUM/);
    compare(GLOBALS, ["btf_func"]);
  });
  test("btf_global_func: FUNC linkage → static", () => {
    expect(compare(KINDS, ["btf_global_func"]).join("\n")).toMatch(/linkage → static/);
    compare(GLOBALS, ["btf_global_func"]);
  });
  test("btf_float: FLOAT → anonymous empty STRUCT", () => {
    expect(compare(KINDS, ["btf_float"]).join("\n")).toMatch(/FLOAT → STRUCT/);
  });
  test("btf_type_tag: TYPE_TAG → CONST", () => {
    expect(compare(KINDS, ["btf_type_tag"]).join("\n")).toMatch(/TYPE_TAG → CONST/);
  });
  test("btf_enum64: ENUM64 → UNION of enum64_placeholder, ENUM kflag cleared", () => {
    const changed = compare(KINDS, ["btf_enum64"]);
    expect(changed.join("\n")).toMatch(/ENUM64 → UNION/);
    expect(changed.join("\n")).toMatch(/signed flag cleared/);
    expect(changed.join("\n")).toMatch(/enum64_placeholder/);
  });
  test("everything missing at once", () => {
    compare(KINDS, [...BTF_SANITIZE_FEATURES]);
    compare(GLOBALS, [...BTF_SANITIZE_FEATURES]);
  });
  test("nothing missing: libbpf loads the BTF as it is, and so do we", () => {
    const ref = libbpf(KINDS, []);
    expect(Buffer.from(ref.sanitized).equals(Buffer.from(ref.original))).toBe(true);
    expect(sanitizeBtf(parseBtf(ref.original), []).changed).toEqual([]);
  });
  test("our open-time BTF (parse + fixupDatasecs) is libbpf's, but for the .kconfig changes of libbpf's extern collection", () => {
    for (const obj of [KINDS, GLOBALS]) {
      const elf = readElf(obj);
      const ours = parseBtf(elf.section(".BTF"));
      fixupDatasecs(ours, datasecSourceFromElf(elf));
      const theirs = parseBtf(libbpf(obj, []).original);
      // libbpf's collect_externs lays out .kconfig (size, offsets, sorted) and turns its VARs global.
      const strip = (b: Btf) => {
        const kconfig = b.types.find((t) => t.kind === "DATASEC" && t.name === ".kconfig");
        const externs = new Set(kconfig?.kind === "DATASEC" ? kconfig.vars.map((v) => v.type) : []);
        return b.types.map((t, id) =>
          t === kconfig && t.kind === "DATASEC" ? { ...t, size: 0, vars: t.vars.map((v) => ({ ...v, offset: 0 })).sort((x, y) => x.type - y.type) }
          : externs.has(id) && t.kind === "VAR" ? { ...t, linkage: "extern" }
          : t);
      };
      expect(strip(ours)).toEqual(strip(theirs));
    }
  });
});
