/** String table lookups that refuse offsets outside the table and unterminated strings. */
import { ElfError, hex } from "./errors.js";
import { readCString } from "./layout.js";

/** A string table as seen by the lookup: its bytes and how to name it in errors. */
export interface StringTable {
  readonly data: Uint8Array;
  /** Table's section label, e.g. `.strtab`. */
  readonly label: string;
}

/**
 * Read the NUL-terminated string at `offset` of `table`.
 * @param what - the field holding the offset, for the message (e.g. `symbol #4 st_name`).
 * @param where - location of that field.
 */
export function readString(table: StringTable, offset: number, what: string, where: { offset?: number; section?: string }): string {
  const size = table.data.byteLength;
  if (offset >= size) {
    throw new ElfError("ELF_BAD_STRING", `${what}: expected an offset inside string table ${table.label} (${size} bytes), found ${hex(offset)}`, where);
  }
  const s = readCString(table.data, offset);
  if (s === undefined) {
    throw new ElfError("ELF_BAD_STRING", `${what}: string at ${hex(offset)} of ${table.label} is not NUL-terminated before the table ends`, where);
  }
  return s;
}
