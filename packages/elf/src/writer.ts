/**
 * Section data replacement: produce a copy of an object with some sections' bytes swapped,
 * every other byte (headers, other sections, padding) left identical. Used by loaders to
 * patch `.rodata`/`.data` before handing the object to another tool.
 */
import { ElfError, sectionLabel } from "./errors.js";
import { hasFileData } from "./sections.js";
import { SectionType, type ElfSection } from "./types.js";

/** What the writer needs from a parsed file. */
export interface WritableFile {
  /** The whole object file. */
  readonly bytes: Uint8Array;
  /** Its sections, with `offset`/`size` relative to `bytes`. */
  readonly sections: readonly ElfSection[];
}

/** Resolve a replacement key (section name or index) to exactly one section. */
function resolve(file: WritableFile, key: string | number): ElfSection {
  if (typeof key === "number") {
    const s = Number.isInteger(key) ? file.sections[key] : undefined;
    if (!s) throw new ElfError("ELF_SECTION_NOT_FOUND", `no section with index ${key} (the object has ${file.sections.length})`);
    return s;
  }
  const matches = file.sections.filter((s) => s.name === key);
  if (matches.length === 0) throw new ElfError("ELF_SECTION_NOT_FOUND", `no section named ${JSON.stringify(key)}`);
  if (matches.length > 1) {
    throw new ElfError("ELF_BAD_REPLACEMENT", `${matches.length} sections are named ${JSON.stringify(key)} (indexes ${matches.map((s) => s.index).join(", ")}); replace by index instead`, {
      section: key,
    });
  }
  return matches[0]!;
}

/**
 * Copy `file.bytes`, overwriting the data of each section in `replacements` (keyed by name or index).
 * Each replacement must have exactly the section's size; NOBITS sections have no bytes in the file
 * and cannot be replaced; two replacements may not overlap.
 */
export function replaceSectionData(file: WritableFile, replacements: ReadonlyMap<string | number, Uint8Array>): Uint8Array {
  const chosen: { section: ElfSection; data: Uint8Array }[] = [];
  for (const [key, data] of replacements) {
    const section = resolve(file, key);
    const where = { section: sectionLabel(section.index, section.name), offset: section.offset };
    if (!hasFileData(section.type)) {
      const kind = section.type === SectionType.NOBITS ? "NOBITS (e.g. .bss: zero-filled at load, no bytes in the file)" : "SHT_NULL";
      throw new ElfError("ELF_BAD_REPLACEMENT", `cannot replace the data of a ${kind} section`, where);
    }
    if (data.byteLength !== section.size) {
      throw new ElfError("ELF_BAD_REPLACEMENT", `replacement data: expected ${section.size} bytes (the section size), found ${data.byteLength}`, where);
    }
    for (const other of chosen) {
      if (other.section.index === section.index) {
        throw new ElfError("ELF_BAD_REPLACEMENT", `section is replaced twice (by name and by index)`, where);
      }
      const overlap = section.offset < other.section.offset + other.section.size && other.section.offset < section.offset + section.size;
      if (overlap) {
        throw new ElfError("ELF_BAD_REPLACEMENT", `replacement overlaps the replacement of ${sectionLabel(other.section.index, other.section.name)} in the file`, where);
      }
    }
    chosen.push({ section, data });
  }
  // The typed-array constructor always copies (unlike Buffer#slice, which views).
  const out = new Uint8Array(file.bytes);
  for (const { section, data } of chosen) out.set(data, section.offset);
  return out;
}
