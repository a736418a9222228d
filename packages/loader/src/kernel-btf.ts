/**
 * The running kernel's BTF, decoded at most once per process. The bytes come from @x/sys's
 * process-wide cache (`vmlinuxBtfBytes`), which the kfunc probe reads too, so the file is read once.
 */
import { type Btf, parseBtf } from "@x/btf";
import { vmlinuxBtfBytes } from "@x/sys";

let cached: { btf: Btf; index: Map<string, number[]> } | undefined;

/** The kernel's BTF and a name index over it. */
export function kernelBtf(): { btf: Btf; index: Map<string, number[]> } {
  if (!cached) {
    const btf = parseBtf(vmlinuxBtfBytes());
    cached = { btf, index: btf.nameIndex() };
  }
  return cached;
}

/** The id of the kernel type `name` of `kind`, or undefined. */
export function kernelTypeId(name: string, kind: "FUNC" | "TYPEDEF" | "STRUCT"): number | undefined {
  const { btf, index } = kernelBtf();
  return index.get(name)?.find((id) => btf.types[id]!.kind === kind);
}
