/** Which ELF sections hold global data, and what kind of internal map each becomes. */

/** The kinds of data section a loader turns into internal maps. */
export type DataSectionKind = "data" | "rodata" | "bss" | "kconfig";

/** Classify a section by name and type (libbpf `bpf_object__elf_collect`): `.data*`, `.rodata*`, NOBITS `.bss*`. */
export function dataSectionKind(name: string, isNobits: boolean): DataSectionKind | undefined {
  if (name === ".kconfig") return "kconfig";
  if (isNobits) return name === ".bss" || name.startsWith(".bss.") ? "bss" : undefined;
  if (name === ".data" || name.startsWith(".data.")) return "data";
  if (name === ".rodata" || name.startsWith(".rodata.")) return "rodata";
  return undefined;
}
