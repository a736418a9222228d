// Test-only helpers: a tiny ELF64 reader (section bytes, section headers, symbols),
// fixture paths and bpftool access. Not part of the package.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const repo = fileURLToPath(new URL("../../../", import.meta.url));
export const sharedObj = (name: string) => `${repo}fixtures/obj/${name}`;
export const localObj = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
export const SHARED_FIXTURES = ["globals.bpf.o", "sections.bpf.o", "example.bpf.o", "big.bpf.o", "sk_lookup.bpf.o"];

export interface TestElf {
  sections: { index: number; name: string; size: number; type: number; data: Uint8Array }[];
  symbols: { name: string; value: number; size: number; type: number; binding: number; visibility: number; sectionIndex: number }[];
  section(name: string): Uint8Array;
}

/** Minimal ELF64 reader (either byte order) for tests. */
export function readElf(path: string): TestElf {
  const b = new Uint8Array(readFileSync(path));
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[0] !== 0x7f || b[1] !== 0x45 || b[4] !== 2) throw new Error(`${path}: not ELF64`);
  const le = b[5] === 1;
  const shoff = Number(dv.getBigUint64(0x28, le));
  const shentsize = dv.getUint16(0x3a, le);
  const shnum = dv.getUint16(0x3c, le);
  const shstrndx = dv.getUint16(0x3e, le);
  const raw = Array.from({ length: shnum }, (_, i) => {
    const o = shoff + i * shentsize;
    return {
      nameOff: dv.getUint32(o, le), type: dv.getUint32(o + 4, le),
      offset: Number(dv.getBigUint64(o + 0x18, le)), size: Number(dv.getBigUint64(o + 0x20, le)),
      link: dv.getUint32(o + 0x28, le), entsize: Number(dv.getBigUint64(o + 0x38, le)),
    };
  });
  const cstr = (off: number) => { let e = off; while (b[e] !== 0) e++; return new TextDecoder().decode(b.subarray(off, e)); };
  const shstr = raw[shstrndx]!;
  const sections = raw.map((s, index) => ({
    index, name: cstr(shstr.offset + s.nameOff), size: s.size, type: s.type,
    data: s.type === 8 ? new Uint8Array(0) : b.subarray(s.offset, s.offset + s.size),
  }));
  const symtab = raw.find((s) => s.type === 2);
  const symbols: TestElf["symbols"] = [];
  if (symtab) {
    const strtab = raw[symtab.link]!;
    for (let o = symtab.offset; o < symtab.offset + symtab.size; o += 24) {
      const info = b[o + 4]!;
      symbols.push({
        name: cstr(strtab.offset + dv.getUint32(o, le)), value: Number(dv.getBigUint64(o + 8, le)),
        size: Number(dv.getBigUint64(o + 16, le)), type: info & 0xf, binding: info >> 4,
        visibility: b[o + 5]! & 3, sectionIndex: dv.getUint16(o + 6, le),
      });
    }
  }
  return {
    sections, symbols,
    section(name) {
      const s = sections.find((x) => x.name === name);
      if (!s) throw new Error(`${path}: no section ${name}`);
      return s.data;
    },
  };
}

export const hasBpftool = (() => { try { execFileSync("bpftool", ["version"], { stdio: "ignore" }); return true; } catch { return false; } })();
export const hasVmlinux = existsSync("/sys/kernel/btf/vmlinux");

/** `bpftool btf dump file <path> format raw -j`, parsed; enumerator values are kept exact as decimal strings. */
export function bpftoolRaw(path: string): { types: Record<string, unknown>[] } {
  const text = execFileSync("bpftool", ["btf", "dump", "file", path, "format", "raw", "-j"], { maxBuffer: 1 << 28 }).toString();
  return JSON.parse(text.replace(/"val":\s*(-?\d+)/g, '"val":"$1"'));
}
