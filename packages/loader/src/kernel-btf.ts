/** The running kernel's BTF, read and decoded at most once per process. */
import { readFileSync } from "node:fs";
import { type Btf, parseBtf } from "@x/btf";

const VMLINUX_BTF = "/sys/kernel/btf/vmlinux";

let cached: { btf: Btf; index: Map<string, number[]> } | undefined;

/** The kernel's BTF and a name index over it. */
export function kernelBtf(): { btf: Btf; index: Map<string, number[]> } {
  if (!cached) {
    const btf = parseBtf(new Uint8Array(readFileSync(VMLINUX_BTF)));
    cached = { btf, index: btf.nameIndex() };
  }
  return cached;
}

/** The id of the kernel type `name` of `kind`, or undefined. */
export function kernelTypeId(name: string, kind: "FUNC" | "TYPEDEF" | "STRUCT"): number | undefined {
  const { btf, index } = kernelBtf();
  return index.get(name)?.find((id) => btf.types[id]!.kind === kind);
}
