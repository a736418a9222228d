// Function symbols of executables and shared objects (what uprobes are placed by): this machine's libc
// against llvm-readelf-19's symbols and section headers; and bad input refused.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { ElfError, functionFileOffset, functionSymbols } from "@x/elf";
import { describe, expect, it } from "vitest";
import { fixture, hasReadelf } from "./helpers.js";

const LIBC = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6", "/usr/lib64/libc.so.6"].find((p) => existsSync(p));

interface ReadelfSym { Symbol: { Name: { Name: string }; Value: number; Type: { Value: number }; Section: { Value: number } } }
interface ReadelfSec { Section: { Index: number; Address: number; Offset: number } }

describe.runIf(LIBC && hasReadelf)("functionSymbols", () => {
  it("finds every defined function of libc's .dynsym at the file offset readelf's headers give", () => {
    const [ref] = JSON.parse(execFileSync("llvm-readelf-19", ["--elf-output-style=JSON", "-S", "--dyn-syms", LIBC!], { encoding: "utf8", maxBuffer: 256 << 20 })) as [{ DynamicSymbols: ReadelfSym[]; Sections: ReadelfSec[] }];
    const sections = new Map(ref.Sections.map(({ Section: s }) => [s.Index, s]));
    const want = ref.DynamicSymbols.map((d) => d.Symbol).filter((s) => (s.Type.Value === 2 || s.Type.Value === 10) && s.Section.Value !== 0 && s.Section.Value < 0xff00)
      .map((s) => ({ name: s.Name.Name.replace(/@.*$/, ""), offset: BigInt(s.Value - sections.get(s.Section.Value)!.Address + sections.get(s.Section.Value)!.Offset) }));
    const got = functionSymbols(new Uint8Array(readFileSync(LIBC!))).filter((f) => f.dynamic).map((f) => ({ name: f.name, offset: f.offset }));
    expect(got.length).toBeGreaterThan(1000);
    expect(got).toEqual(want);
  });

  it("functionFileOffset: a versioned name, an unknown one", () => {
    const bytes = new Uint8Array(readFileSync(LIBC!));
    const offset = functionFileOffset(bytes, "getppid");
    expect(functionFileOffset(bytes, "getppid@GLIBC_2.2.5")).toBe(offset);
    expect(() => functionFileOffset(bytes, "xbpf_no_such_function", "libc")).toThrow(/libc has no function 'xbpf_no_such_function'/);
  });

  it("refuses a relocatable BPF object and a truncated file, with codes", () => {
    const code = (f: () => unknown) => { try { f(); } catch (e) { return (e as ElfError).code; } return undefined; };
    expect(code(() => functionSymbols(fixture("example.bpf.o")))).toBe("ELF_BAD_HEADER");
    const bytes = new Uint8Array(readFileSync(LIBC!));
    expect(code(() => functionSymbols(bytes.subarray(0, 100)))).toBe("ELF_TRUNCATED");
  });
});
