/**
 * `@x/reloc`: BPF instruction codec (with a small instruction builder, {@link asm}), program
 * discovery, relocation classification, subprogram linking and `ld_imm64` patching. Pure (no
 * I/O): it reads a parsed ELF object (`ElfFile` of `@x/elf`, or anything shaped like
 * {@link RelocSource}) and returns new instruction arrays.
 *
 * Typical pipeline: {@link findPrograms} → {@link collectRelocations} → {@link linkProgram} →
 * (loader creates maps) → {@link patchMapReferences} → {@link encodeInstructions} → `BPF_PROG_LOAD`.
 *
 * @packageDocumentation
 */
export * from "./errors.js";
export * from "./insn.js";
export * from "./asm.js";
export * from "./format.js";
export * from "./types.js";
export * from "./programs.js";
export * from "./relocations.js";
export * from "./patch.js";
export * from "./link.js";
export * from "./core.js";
