/**
 * The running kernel's BTF objects: vmlinux's and each loaded module's, found by walking the
 * kernel's BTF ids, for ksyms and kfuncs that live in modules.
 *
 * The walk is libbpf's `load_module_btfs`: `BPF_BTF_GET_NEXT_ID` from 0, `BPF_BTF_GET_FD_BY_ID`
 * and `BPF_OBJ_GET_INFO_BY_FD` (name, `kernel_btf`) for each id; the objects kept are the kernel
 * BTFs (`kernel_btf` set) other than `vmlinux`, in id order; an id that vanished between the two
 * calls (`ENOENT` on `GET_FD_BY_ID`: a BTF freed, a module unloaded) is skipped. Kernels before
 * 5.11 have no module BTF and `bpf_btf_info` has no name there (the `module_btf` probe), so the
 * walk is not made and the list is empty, as in libbpf.
 *
 * Caching: the list is walked again on every call, since modules come and go while a process
 * runs and a walk is two or three bpf(2) calls per BTF object (libbpf walks once per object
 * load). The raw bytes of a module's BTF (tens to hundreds of KiB each) are cached per process by
 * BTF id: a kernel BTF object never changes, and a module loaded again gets a new id (ids are
 * allocated cyclically). Entries whose id is gone are dropped at the next walk. Fds are not
 * cached: {@link openBtfById} opens one for a load, which owns it.
 *
 * @packageDocumentation
 */
import { Errno } from "../abi/errno.js";
import { BpfSyscallError } from "../errors.js";
import type { BtfFd } from "../fd.js";
import { btfGetFdById, btfGetNextId, btfInfo } from "../obj.js";
import { hasFeature } from "../probes/features.js";

/** A kernel BTF object (vmlinux or a module's) as the walk sees it. */
export interface KernelBtfObject {
  /** The BTF object id. */
  readonly id: number;
  /** `vmlinux`, or the module's name. */
  readonly name: string;
  /** Size of its raw BTF in bytes. */
  readonly size: number;
}

/** A loaded module's BTF. */
export interface KernelModuleBtf {
  /** The module's name (`virtio_rng`, `9p`…). */
  readonly name: string;
  /** The BTF object id, for {@link openBtfById}. */
  readonly id: number;
  /**
   * The raw BTF (split BTF: its type ids continue after vmlinux's, its strings after vmlinux's
   * strings). Cached per process and shared: do not modify.
   */
  readonly bytes: Uint8Array;
}

/** The process-wide cache of module BTF bytes, by BTF id. */
export class ModuleBtfCache {
  readonly #byId = new Map<number, KernelModuleBtf>();

  /** The cached module BTF of `id`, when it is the same object (`name`, `size`). */
  get(id: number, name: string, size: number): KernelModuleBtf | undefined {
    const hit = this.#byId.get(id);
    return hit && hit.name === name && hit.bytes.byteLength === size ? hit : undefined;
  }

  /** Remember a module's BTF. */
  set(m: KernelModuleBtf): void {
    this.#byId.set(m.id, m);
  }

  /** Drop the entries whose id is not in `live` (modules unloaded since). */
  retain(live: ReadonlySet<number>): void {
    for (const id of this.#byId.keys()) if (!live.has(id)) this.#byId.delete(id);
  }

  /** How many modules' bytes are cached. */
  get size(): number {
    return this.#byId.size;
  }

  /** Forget every entry (tests). */
  clear(): void {
    this.#byId.clear();
  }
}

/** The process-wide cache of module BTF bytes ({@link kernelModuleBtfs}). */
export const moduleBtfCache: ModuleBtfCache = new ModuleBtfCache();

/**
 * Visit every kernel BTF object (vmlinux first on every kernel so far, then modules in id order)
 * with an open fd, closed after `visit` returns. Nothing on kernels without module BTF.
 */
function walkKernelBtfs(visit: (o: KernelBtfObject, fd: BtfFd) => void): void {
  // Before 5.11 neither vmlinux nor modules have BTF ids, and bpf_btf_info has no name/kernel_btf.
  if (!hasFeature("module_btf")) return;
  for (let id = btfGetNextId(0); id !== undefined; id = btfGetNextId(id)) {
    let fd: BtfFd;
    try {
      fd = btfGetFdById(id);
    } catch (e) {
      if (e instanceof BpfSyscallError && e.errno === Errno.ENOENT) continue; // freed since GET_NEXT_ID
      throw e;
    }
    try {
      const info = btfInfo(fd);
      if (info.kernelBtf) visit({ id, name: info.name, size: info.btfSize }, fd);
    } finally {
      fd.close();
    }
  }
}

/**
 * Every kernel BTF object of the running kernel, vmlinux's included, in id order: what the module
 * walk sees. Empty before 5.11 (no module BTF; vmlinux's BTF has no id either).
 * @throws {@link BpfSyscallError} (e.g. `EPERM` without privileges) or {@link ProbeInconclusiveError} when the `module_btf` probe cannot tell.
 */
export function kernelBtfObjects(): KernelBtfObject[] {
  const out: KernelBtfObject[] = [];
  walkKernelBtfs((o) => out.push(o));
  return out;
}

/**
 * The BTF of every loaded kernel module, in id order (libbpf `load_module_btfs`): kernel BTF
 * objects other than vmlinux. Empty on kernels before 5.11 (no module BTF) and on kernels built
 * without `CONFIG_DEBUG_INFO_BTF_MODULES` or with no modules loaded. Walked on every call; the
 * bytes are read once per module per process ({@link moduleBtfCache}).
 * @throws {@link BpfSyscallError} when the walk fails (`EPERM`: no privileges; libbpf then quietly
 *   loads no module BTF, here the caller is told), {@link ProbeInconclusiveError} when the
 *   `module_btf` probe cannot tell.
 */
export function kernelModuleBtfs(): KernelModuleBtf[] {
  const out: KernelModuleBtf[] = [];
  const live = new Set<number>();
  walkKernelBtfs((o, fd) => {
    if (o.name === "vmlinux") return;
    live.add(o.id);
    let m = moduleBtfCache.get(o.id, o.name, o.size);
    if (!m) {
      const data = btfInfo(fd, { withData: true }).data;
      m = { name: o.name, id: o.id, bytes: data ?? new Uint8Array(0) };
      moduleBtfCache.set(m);
    }
    out.push(m);
  });
  moduleBtfCache.retain(live);
  return out;
}

/**
 * `BPF_BTF_GET_FD_BY_ID` for a kernel BTF object found by {@link kernelModuleBtfs}: the fd a load
 * puts in `fd_array` or in an `ld_imm64`'s second immediate. The caller owns it (one per load).
 * @throws {@link BpfSyscallError} (`ENOENT` with a note when the object is gone: its module was unloaded since the walk).
 */
export function openBtfById(id: number): BtfFd {
  try {
    return btfGetFdById(id);
  } catch (e) {
    if (e instanceof BpfSyscallError && e.errno === Errno.ENOENT) {
      throw new BpfSyscallError(e.cmd, e.errno, { detail: `BTF object ${id} is gone: its module was unloaded since the kernel's BTF objects were listed` });
    }
    throw e;
  }
}
