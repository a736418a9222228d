// Test-only: a small builder for hand-made local/target BTF pairs of the CO-RE tests, and a
// loader-like CO-RE pass over a compiled object (ours, and libbpf's through core-clang/harness.c).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import {
  BpfCoreReloKind, Btf, type BtfType, CoreContext, type CoreReloKindName, type CoreRelo, type CoreRelocationResult, parseBtf, parseBtfExt,
} from "@x/btf";
import { ElfFile } from "@x/elf";
import { decodeInstructions, findPrograms, type Instruction, patchCoreInstruction } from "@x/reloc";

type Member = [name: string, type: number, bitOffset: number, bitSize?: number];

/** Appends types to a {@link Btf} (a fresh one, or a split on `base`) and returns their ids. */
export class Builder {
  readonly btf: Btf;
  constructor(base?: Btf) {
    this.btf = base ? Btf.split(base) : new Btf();
  }
  add(t: BtfType): number { return this.btf.add(t); }
  int(name: string, size: number, signed = false): number {
    return this.add({ kind: "INT", name, size, encoding: signed ? 1 : 0, offset: 0, bits: size * 8 });
  }
  bool(name = "_Bool"): number { return this.add({ kind: "INT", name, size: 1, encoding: 4, offset: 0, bits: 8 }); }
  float(name: string, size: number): number { return this.add({ kind: "FLOAT", name, size }); }
  ptr(type: number): number { return this.add({ kind: "PTR", name: "", type }); }
  typedef(name: string, type: number): number { return this.add({ kind: "TYPEDEF", name, type }); }
  const(type: number): number { return this.add({ kind: "CONST", name: "", type }); }
  volatile(type: number): number { return this.add({ kind: "VOLATILE", name: "", type }); }
  array(type: number, nelems: number): number { return this.add({ kind: "ARRAY", name: "", type, indexType: 0, nelems }); }
  fwd(name: string, union = false): number { return this.add({ kind: "FWD", name, union }); }
  struct(name: string, size: number, members: Member[], kind: "STRUCT" | "UNION" = "STRUCT"): number {
    const kindFlag = members.some((m) => (m[3] ?? 0) > 0);
    return this.add({ kind, name, size, kindFlag, members: members.map(([n, type, bitOffset, bitSize]) => ({ name: n, type, bitOffset, bitSize: bitSize ?? 0 })) });
  }
  union(name: string, size: number, members: Member[]): number { return this.struct(name, size, members, "UNION"); }
  enum(name: string, size: number, values: [string, number][], signed = false): number {
    return this.add({ kind: "ENUM", name, size, signed, values: values.map(([n, value]) => ({ name: n, value })) });
  }
  enum64(name: string, size: number, values: [string, bigint][], signed = false): number {
    return this.add({ kind: "ENUM64", name, size, signed, values: values.map(([n, value]) => ({ name: n, value })) });
  }
  proto(returnType: number, ...params: number[]): number {
    return this.add({ kind: "FUNC_PROTO", name: "", returnType, params: params.map((type) => ({ name: "", type })) });
  }
}

/** A `bpf_core_relo` record. */
export function relo(typeId: number, accessStr: string, kind: CoreReloKindName, insnOff = 0): CoreRelo {
  return { insnOff, typeId, accessStr, kind: BpfCoreReloKind[kind] };
}

export interface Relocated {
  /** Each program's instructions after CO-RE, by name. */
  programs: Map<string, Instruction[]>;
  /** One per .BTF.ext record, in order. */
  results: CoreRelocationResult[];
  /** What patchCoreInstruction said, and libbpf's warnings. */
  log: string[];
}

/** What a loader does with CO-RE: every record of every section, against `targetPath`'s BTF as vmlinux's. */
export function relocate(objPath: string, targetPath: string): Relocated {
  const elf = ElfFile.parse(new Uint8Array(readFileSync(objPath)));
  const local = parseBtf(elf.section(".BTF")!.data);
  const ext = parseBtfExt(elf.section(".BTF.ext")!.data, local);
  const bytes = new Uint8Array(readFileSync(targetPath));
  const target = parseBtf(bytes[0] === 0x7f ? ElfFile.parse(bytes).section(".BTF")!.data : bytes); // an object's .BTF, or raw BTF

  const ctx = new CoreContext(local, [{ name: "vmlinux", btf: target }]);
  const progs = findPrograms(elf);
  const programs = new Map<string, Instruction[]>();
  for (const p of progs) {
    const all = decodeInstructions(elf.section(p.section)!.data, elf.littleEndian);
    programs.set(p.name, all.slice(p.insnOffset, p.insnOffset + p.insnCount));
  }
  const results: CoreRelocationResult[] = [];
  const log: string[] = [];
  for (const sec of ext.coreRelos?.sections ?? []) {
    sec.records.forEach((rec, i) => {
      const at = rec.insnOff / 8;
      const p = progs.find((q) => q.section === sec.section && at >= q.insnOffset && at < q.insnOffset + q.insnCount)!;
      const site = { program: p.name, section: sec.section, reloIndex: i, insnIndex: at - p.insnOffset };
      const res = ctx.relocate(rec, site);
      results.push(res);
      const outcome = patchCoreInstruction(programs.get(p.name)!, at - p.insnOffset, res, site);
      log.push(outcome.message, ...(outcome.warning ? [outcome.warning] : []));
    });
  }
  return { programs, results, log };
}

/** libbpf's relocated instructions by program, and its log. */
export function libbpf(harness: string, objPath: string, targetPath: string): { programs: Map<string, Instruction[]>; log: string[] } {
  let out: string;
  try {
    out = execFileSync(harness, [objPath, targetPath], { encoding: "utf8", maxBuffer: 1 << 24 });
  } catch (e) {
    out = String((e as { stdout?: unknown }).stdout ?? "");
  }
  const programs = new Map<string, Instruction[]>();
  const log: string[] = [];
  let cur: Instruction[] = [];
  for (const line of out.split("\n")) {
    const f = line.split(" ");
    if (f[0] === "prog") programs.set(f[1]!, (cur = []));
    else if (f[0] === "insn") {
      const [code, dstReg, srcReg, off, imm] = f.slice(1).map(Number) as [number, number, number, number, number];
      cur.push({ code, dstReg, srcReg, off, imm });
    } else if (line.startsWith("log: libbpf: ")) log.push(line.slice("log: libbpf: ".length));
  }
  return { programs, log };
}

