/** Names for ELF `e_machine` values, for error messages and tools. */

const NAMES: ReadonlyMap<number, string> = new Map([
  [0, "EM_NONE"],
  [3, "EM_386 (x86)"],
  [8, "EM_MIPS"],
  [20, "EM_PPC"],
  [21, "EM_PPC64"],
  [22, "EM_S390"],
  [40, "EM_ARM"],
  [62, "EM_X86_64 (x86-64)"],
  [183, "EM_AARCH64 (aarch64)"],
  [243, "EM_RISCV (RISC-V)"],
  [247, "EM_BPF"],
  [258, "EM_LOONGARCH"],
]);

/**
 * A readable name for an `e_machine` value, e.g. `machineName(62) === "EM_X86_64 (x86-64)"`.
 * Unknown values come back as `"unknown machine N"`.
 */
export function machineName(machine: number): string {
  return NAMES.get(machine) ?? `unknown machine ${machine}`;
}
