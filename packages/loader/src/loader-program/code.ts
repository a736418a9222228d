/**
 * Building blocks of the loader program: its data (a growing, 8-byte aligned blob that becomes the
 * one value of its data map) and its code (instructions with forward jumps to labels).
 */
import { asm, encodeInstructions, type Instruction } from "@x/reloc";

/** The loader program's data: everything its `bpf_sys_bpf()` calls point at. */
export class Blob {
  #bytes = new Uint8Array(4096);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** `n` zero bytes, 8-byte aligned; their offset. */
  reserve(n: number): number {
    const at = (this.#size + 7) & ~7;
    const end = at + n;
    if (end > this.#bytes.byteLength) {
      const grown = new Uint8Array(Math.max(end, this.#bytes.byteLength * 2));
      grown.set(this.#bytes.subarray(0, this.#size));
      this.#bytes = grown;
    }
    this.#size = end;
    return at;
  }

  /** A copy of `bytes`, 8-byte aligned; its offset. */
  add(bytes: Uint8Array): number {
    const at = this.reserve(bytes.byteLength);
    this.#bytes.set(bytes, at);
    return at;
  }

  /** A NUL-terminated string; its offset and size with the NUL. */
  addString(s: string): { at: number; size: number } {
    const b = new TextEncoder().encode(`${s}\0`);
    return { at: this.add(b), size: b.byteLength };
  }

  /** The bytes at `at` (a live view, for writing fields in place). */
  view(at: number, n: number): Uint8Array {
    return this.#bytes.subarray(at, at + n);
  }

  /** The data, padded to 8 bytes. */
  finish(): Uint8Array {
    return this.#bytes.slice(0, (this.#size + 7) & ~7);
  }
}

/** A place in the code that a jump can go to, once it is bound. */
export interface Label {
  at?: number;
}

/** The loader program's instructions. */
export class Code {
  readonly insns: Instruction[] = [];
  readonly #jumps: { index: number; label: Label }[] = [];

  emit(...insns: Instruction[]): void {
    this.insns.push(...insns);
  }

  /** A jump whose offset is filled in when `label` is bound (`make(0)` gives its shape). */
  jump(label: Label, make: (off: number) => Instruction): void {
    this.#jumps.push({ index: this.insns.length, label });
    this.insns.push(make(0));
  }

  /** Bind `label` here. */
  bind(label: Label): void {
    label.at = this.insns.length;
  }

  /** The encoded program, every jump resolved. */
  finish(): Uint8Array {
    for (const { index, label } of this.#jumps) {
      if (label.at === undefined) throw new Error("internal: loader program jump to an unbound label");
      const off = label.at - index - 1;
      if (off > 0x7fff) throw new Error(`internal: loader program jump of ${off} instructions does not fit in 16 bits`);
      this.insns[index]!.off = off;
    }
    return encodeInstructions(this.insns, true);
  }
}

/** `if dst op imm goto label`. */
export const jumpIf = (code: Code, op: number, dst: number, imm: number, label: Label) => code.jump(label, (off) => asm.jmpImm(op, dst, imm, off));
/** `goto label`. */
export const goTo = (code: Code, label: Label) => code.jump(label, (off) => asm.ja(off));
