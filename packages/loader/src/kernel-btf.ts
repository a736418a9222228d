/**
 * The running kernel's BTF as the loader searches it: vmlinux's, opened at most once per process
 * (the bytes come from @x/sys's process-wide cache, which the kfunc probe reads too), and each
 * loaded module's split BTF on top of it, opened once per module BTF object.
 *
 * Both are lazy BTF (`parseBtf(bytes, { lazy: true })`): opening only indexes the bytes (vmlinux: about
 * what libbpf's `btf__new` takes), a lookup indexes the names of the kind it asks for, and a type is
 * decoded when something (extern resolution, an attach target, CO-RE) first reaches it.
 */
import { type Btf, type BtfKind, parseBtf } from "@x/btf";
import { kernelModuleBtfs, vmlinuxBtfBytes } from "@x/sys";
import type { KernelBtfTypes } from "./load/kernel.js";

/** A kernel BTF object, searched through its own per-kind name index. */
class KernelBtf implements KernelBtfTypes {
  constructor(
    readonly name: string,
    readonly id: number,
    readonly btf: Btf,
  ) {}

  find(name: string, kind: BtfKind): number | undefined {
    return this.btf.idsByName(name, kind)[0];
  }
}

let vmlinux: KernelBtf | undefined;
/** Module BTFs by BTF object id (a reloaded module gets a new id). */
const modules = new Map<number, KernelBtf>();

/** vmlinux's BTF, lazy (id 0 stands for vmlinux: `ld_imm64` and `fd_array` name it by fd 0). */
export function vmlinuxTypes(): KernelBtf {
  vmlinux ??= new KernelBtf("vmlinux", 0, parseBtf(vmlinuxBtfBytes(), { lazy: true }));
  return vmlinux;
}

/** The kernel's BTF objects in the order libbpf searches them: vmlinux, then each loaded module's (walked only when asked for). */
export function* kernelBtfTypes(): Generator<KernelBtfTypes> {
  const base = vmlinuxTypes();
  yield base;
  for (const m of kernelModuleBtfs()) {
    let t = modules.get(m.id);
    if (!t) modules.set(m.id, (t = new KernelBtf(m.name, m.id, parseBtf(m.bytes, { base: base.btf, lazy: true }))));
    yield t;
  }
}

/** The id of the kernel type `name` of `kind` in vmlinux, or undefined. */
export function kernelTypeId(name: string, kind: "FUNC" | "TYPEDEF" | "STRUCT"): number | undefined {
  return vmlinuxTypes().find(name, kind);
}
