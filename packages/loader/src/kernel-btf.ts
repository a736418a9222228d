/**
 * The running kernel's BTF as the loader searches it: vmlinux's, decoded at most once per process
 * (the bytes come from @x/sys's process-wide cache, which the kfunc probe reads too), and each
 * loaded module's split BTF on top of it, decoded once per module BTF object.
 */
import { type Btf, type BtfKind, parseBtf } from "@x/btf";
import { kernelModuleBtfs, vmlinuxBtfBytes } from "@x/sys";
import type { KernelBtfTypes } from "./load/kernel.js";

/** A kernel BTF object with a name index over its own types. */
class IndexedBtf implements KernelBtfTypes {
  readonly #index: Map<string, number[]>;
  constructor(
    readonly name: string,
    readonly id: number,
    readonly btf: Btf,
  ) {
    this.#index = btf.nameIndex();
  }

  find(name: string, kind: BtfKind): number | undefined {
    return this.#index.get(name)?.find((id) => this.btf.type(id).kind === kind);
  }
}

let vmlinux: IndexedBtf | undefined;
/** Decoded module BTFs by BTF object id (a reloaded module gets a new id). */
const modules = new Map<number, IndexedBtf>();

/** vmlinux's BTF with a name index (id 0 stands for vmlinux: `ld_imm64` and `fd_array` name it by fd 0). */
export function vmlinuxTypes(): IndexedBtf {
  vmlinux ??= new IndexedBtf("vmlinux", 0, parseBtf(vmlinuxBtfBytes()));
  return vmlinux;
}

/** The kernel's BTF objects in the order libbpf searches them: vmlinux, then each loaded module's (walked only when asked for). */
export function* kernelBtfTypes(): Generator<KernelBtfTypes> {
  const base = vmlinuxTypes();
  yield base;
  for (const m of kernelModuleBtfs()) {
    let t = modules.get(m.id);
    if (!t) modules.set(m.id, (t = new IndexedBtf(m.name, m.id, parseBtf(m.bytes, { base: base.btf }))));
    yield t;
  }
}

/** The id of the kernel type `name` of `kind` in vmlinux, or undefined. */
export function kernelTypeId(name: string, kind: "FUNC" | "TYPEDEF" | "STRUCT"): number | undefined {
  return vmlinuxTypes().find(name, kind);
}
