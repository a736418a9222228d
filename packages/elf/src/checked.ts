/**
 * Bounds-checked primitives shared by the parser modules: every record read and every
 * 64-bit to `number` conversion goes through here, so a lying file yields an ElfError
 * with a location instead of a RangeError or a silently rounded offset.
 */
import { ElfError, hex, type ElfErrorCode } from "./errors.js";
import type { Layout } from "./layout.js";

/** Where a record sits, for error messages. */
export interface RecordSite {
  /** What is being read, e.g. `section header #3` or `symbol #12`. */
  readonly what: string;
  /** Offset of `bytes[0]` in the file (non-zero when `bytes` is a section's data). */
  readonly base: number;
  readonly section?: string;
  /** Code to report when the record does not fit (default ELF_TRUNCATED). */
  readonly code?: ElfErrorCode;
}

/** Read one record of `layout` at `offset` of `bytes`, or throw an ElfError saying where it did not fit. */
export function readRecord<T>(layout: Layout<T>, bytes: Uint8Array, offset: number, le: boolean, site: RecordSite): T {
  if (!layout.fits(bytes, offset)) {
    const where = site.section === undefined ? { offset: site.base + offset } : { offset: site.base + offset, section: site.section };
    throw new ElfError(
      site.code ?? "ELF_TRUNCATED",
      `${site.what}: expected a ${layout.size}-byte ${layout.name} at ${hex(site.base + offset)}, but only ${Math.max(0, bytes.byteLength - offset)} bytes remain`,
      where,
    );
  }
  return layout.read(bytes, offset, le);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Convert a 64-bit field to a `number`, refusing values that a double cannot hold exactly
 * (no real offset, size or index is that large; such a value means a corrupt file).
 */
export function toSafeNumber(value: bigint, code: ElfErrorCode, what: string, where: { offset?: number; section?: string }): number {
  if (value > MAX_SAFE) {
    throw new ElfError(code, `${what}: expected a value below 2^53, found ${hex(value)}`, where);
  }
  return Number(value);
}
