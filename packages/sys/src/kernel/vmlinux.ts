/**
 * The running kernel's BTF (`/sys/kernel/btf/vmlinux`), read at most once per process.
 *
 * A process-wide cache, explicitly named (design: "what a process may share lives in explicitly
 * named, lazily filled caches"): the kfunc probe and the loader's kernel type index both take
 * their bytes from here, so the file (5–10 MB) is read once however many objects are loaded.
 * A failed read is not cached: the next call tries again.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";

/** Where the running kernel publishes its BTF. */
export const VMLINUX_BTF_PATH = "/sys/kernel/btf/vmlinux";

/** A file read lazily, once, and kept for the life of the process (or until {@link FileCache.clear}). */
export class FileCache {
  #bytes: Uint8Array | undefined;

  constructor(
    /** The file. */
    readonly path: string,
  ) {}

  /**
   * The file's bytes, read on the first call. Shared by every caller: do not modify them.
   * @throws the `fs` error (`code` `ENOENT`, `EACCES`…) when the file cannot be read; nothing is cached then.
   */
  bytes(): Uint8Array {
    this.#bytes ??= new Uint8Array(readFileSync(this.path));
    return this.#bytes;
  }

  /** Whether the bytes have been read. */
  get filled(): boolean {
    return this.#bytes !== undefined;
  }

  /** Forget the bytes (tests; a kernel whose BTF changed cannot happen within a process). */
  clear(): void {
    this.#bytes = undefined;
  }
}

/** The process-wide cache of the running kernel's BTF. */
export const vmlinuxBtfCache: FileCache = new FileCache(VMLINUX_BTF_PATH);

/**
 * The raw bytes of the running kernel's BTF, read once per process ({@link vmlinuxBtfCache}).
 * @throws the `fs` error when there is none (`ENOENT`: a kernel without `CONFIG_DEBUG_INFO_BTF`) or it cannot be read.
 */
export function vmlinuxBtfBytes(): Uint8Array {
  return vmlinuxBtfCache.bytes();
}
