/**
 * A value computed on first use and kept for the life of the process: the pattern of every
 * kernel-symbol source here (kallsyms, the kernel config, `LINUX_KERNEL_VERSION`), like
 * `FileCache` for raw files. A failed fill is not cached: the next call tries again.
 *
 * @packageDocumentation
 */

/** A named, lazily filled, process-wide value. */
export class ProcessCache<T> {
  #value: T | undefined;
  #filled = false;

  constructor(
    /** What it holds (for people: `/proc/kallsyms`, `the kernel config`…). */
    readonly description: string,
    private readonly fill: () => T,
  ) {}

  /** The value, computed on the first call. Shared by every caller: do not modify it. Throws what the fill throws; nothing is cached then. */
  get(): T {
    if (!this.#filled) {
      this.#value = this.fill();
      this.#filled = true;
    }
    return this.#value as T;
  }

  /** Whether the value has been computed. */
  get filled(): boolean {
    return this.#filled;
  }

  /** Forget the value (tests; none of these sources changes within a process). */
  clear(): void {
    this.#value = undefined;
    this.#filled = false;
  }
}
