/**
 * Section header table decoding: table geometry (including the SHN_XINDEX escapes for
 * huge section counts), per-section bounds and names. Section bytes are zero-copy views.
 */
import { readRecord, toSafeNumber } from "./checked.js";
import { ElfError, hex, sectionLabel } from "./errors.js";
import type { RawHeader } from "./header.js";
import { Elf64_Ehdr, Elf64_Shdr, type LayoutRecord } from "./records.js";
import { readCString } from "./layout.js";
import { readString } from "./strings.js";
import { SectionIndex, SectionType, type ElfSection } from "./types.js";

/** The decoded section table. */
export interface SectionTable {
  readonly sections: ElfSection[];
  /** Resolved index of the section name string table (0 when there are no sections). */
  readonly nameTableIndex: number;
}

type Shdr = LayoutRecord<typeof Elf64_Shdr>;

const EMPTY: Uint8Array = new Uint8Array(0);

/** Whether a section of this type occupies bytes in the file. */
export function hasFileData(type: number): boolean {
  return type !== SectionType.NOBITS && type !== SectionType.NULL;
}

/** Decode every section header, check that each section's bytes lie inside the file, and resolve names. */
export function readSectionTable(bytes: Uint8Array, header: RawHeader): SectionTable {
  const { ehdr, littleEndian: le } = header;
  const fieldAt = (f: keyof typeof ehdr & string) => Elf64_Ehdr.field(f).offset;
  const fileSize = bytes.byteLength;

  if (ehdr.e_shoff === 0n) {
    // No section header table at all: legal ELF, but then nothing may refer to one.
    if (ehdr.e_shnum !== 0 || ehdr.e_shstrndx !== 0) {
      throw new ElfError("ELF_BAD_HEADER", `e_shoff is 0 (no section header table) but e_shnum is ${ehdr.e_shnum} and e_shstrndx is ${ehdr.e_shstrndx}`, {
        offset: fieldAt("e_shoff"),
      });
    }
    return { sections: [], nameTableIndex: 0 };
  }
  if (ehdr.e_shoff >= BigInt(fileSize)) {
    throw new ElfError("ELF_TRUNCATED", `e_shoff: section header table starts at ${hex(ehdr.e_shoff)}, past the end of the file (${fileSize} bytes)`, {
      offset: fieldAt("e_shoff"),
    });
  }
  const shoff = Number(ehdr.e_shoff);
  const site = (i: number) => ({ what: `section header #${i}`, base: 0, section: `#${i}` });
  const first = readRecord(Elf64_Shdr, bytes, shoff, le, site(0));

  // With >= SHN_LORESERVE sections, e_shnum is 0 and the count lives in section 0's sh_size.
  let countBig = BigInt(ehdr.e_shnum);
  if (countBig === 0n) {
    countBig = first.sh_size;
    if (countBig === 0n) {
      throw new ElfError("ELF_BAD_HEADER", "e_shnum and section 0's sh_size are both 0, but e_shoff points at a section header table", {
        offset: fieldAt("e_shnum"),
      });
    }
  }
  const room = BigInt(Math.floor((fileSize - shoff) / Elf64_Shdr.size));
  if (countBig > room) {
    throw new ElfError(
      "ELF_TRUNCATED",
      `section header table at ${hex(shoff)}: expected ${countBig} headers of ${Elf64_Shdr.size} bytes, but the file (${fileSize} bytes) holds only ${room}`,
      { offset: shoff },
    );
  }
  const count = Number(countBig);

  // Likewise e_shstrndx == SHN_XINDEX defers to section 0's sh_link.
  let nameTableIndex = ehdr.e_shstrndx;
  if (nameTableIndex === SectionIndex.XINDEX) nameTableIndex = first.sh_link;
  else if (nameTableIndex >= SectionIndex.LORESERVE) nameTableIndex = -1;
  if (nameTableIndex <= 0 || nameTableIndex >= count) {
    throw new ElfError(
      "ELF_BAD_HEADER",
      `e_shstrndx: expected the index of the section name string table (1..${count - 1}), found ${ehdr.e_shstrndx}` +
        (ehdr.e_shstrndx === SectionIndex.XINDEX ? ` (SHN_XINDEX, section 0 sh_link = ${first.sh_link})` : ""),
      { offset: fieldAt("e_shstrndx") },
    );
  }

  const raw: Shdr[] = [first];
  // All `count` headers fit (checked against `room` above); the site is built only if one did not.
  for (let i = 1; i < count; i++) {
    const at = shoff + i * Elf64_Shdr.size;
    raw.push(Elf64_Shdr.fits(bytes, at) ? Elf64_Shdr.read(bytes, at, le) : readRecord(Elf64_Shdr, bytes, at, le, site(i)));
  }

  const unnamed = raw.map((h, i) => toSection(bytes, h, i, shoff + i * Elf64_Shdr.size));
  const names = unnamed[nameTableIndex]!;
  if (names.type !== SectionType.STRTAB) {
    throw new ElfError("ELF_BAD_SECTION", `section name table (e_shstrndx ${nameTableIndex}): expected type SHT_STRTAB (3), found ${names.type}`, {
      section: `#${nameTableIndex}`,
      offset: names.headerOffset,
    });
  }
  const table = { data: names.data, label: `#${nameTableIndex} (section name table)` };
  const sections = unnamed.map((s): ElfSection => {
    // readString (with its message) only for a name that does not read cleanly.
    const name = readCString(table.data, s.nameOffset) ?? readString(table, s.nameOffset, `section header #${s.index} sh_name`, { section: `#${s.index}`, offset: s.headerOffset });
    return {
      index: s.index, name, type: s.type, flags: s.flags, offset: s.offset, size: s.size,
      link: s.link, info: s.info, addralign: s.addralign, entsize: s.entsize, data: s.data,
    };
  });
  return { sections, nameTableIndex };
}

interface UnnamedSection extends Omit<ElfSection, "name"> {
  readonly nameOffset: number;
  readonly headerOffset: number;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function toSection(bytes: Uint8Array, h: Shdr, index: number, headerOffset: number): UnnamedSection {
  // The message and location are built only for a bad value: this runs for every section of every open.
  const num = (v: bigint, field: string) =>
    v <= MAX_SAFE ? Number(v) : toSafeNumber(v, "ELF_BAD_SECTION", `section header #${index} ${field}`, { section: sectionLabel(index), offset: headerOffset });
  const size = num(h.sh_size, "sh_size");
  const offset = num(h.sh_offset, "sh_offset");
  let data = EMPTY;
  if (hasFileData(h.sh_type)) {
    // Each is below 2^53: the sum is exact below 2^53 and at least 2^53 above, so never wrongly inside the file.
    if (offset + size > bytes.byteLength) {
      throw new ElfError(
        "ELF_BAD_SECTION",
        `section header #${index}: expected data [${hex(offset)}, ${hex(h.sh_offset + h.sh_size)}) inside the file, but the file is ${bytes.byteLength} bytes`,
        { section: sectionLabel(index), offset: headerOffset },
      );
    }
    data = bytes.subarray(offset, offset + size);
  }
  return {
    index,
    nameOffset: h.sh_name,
    headerOffset,
    type: h.sh_type,
    flags: num(h.sh_flags, "sh_flags"),
    offset,
    size,
    link: h.sh_link,
    info: h.sh_info,
    addralign: num(h.sh_addralign, "sh_addralign"),
    entsize: num(h.sh_entsize, "sh_entsize"),
    data,
  };
}
