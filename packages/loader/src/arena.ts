/**
 * Arena globals at open (libbpf `init_user_btf_maps` / `init_arena_map_data`): the `__arena`
 * section (`.addr_space.1`) is the initial image of the object's one `BPF_MAP_TYPE_ARENA` map.
 * Its variables are set before load like any other global; at load the image is copied into the
 * arena through its mapping, at {@link arenaDataOffset}.
 */
import { SectionType, type ElfFile } from "@x/elf";
import { dataSectionKind } from "@x/reloc";
import { MapType } from "@x/sys/abi";
import { ObjectError } from "./errors.js";
import type { MapSpec } from "./spec.js";

/** The smallest page size Linux runs BPF with: what open checks the arena's size against (load checks the real one). */
export const MIN_PAGE_SIZE = 4096;

/** Whether `m` is an arena map. */
export function isArenaMap(m: Pick<MapSpec, "type">): boolean {
  return m.type === MapType.ARENA;
}

/** Bytes of an arena's user-space range: one page per entry. */
export function arenaSize(m: Pick<MapSpec, "maxEntries">, pageSize: number): number {
  return m.maxEntries * pageSize;
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/**
 * Where the globals go in the arena (libbpf `arena_data_off`): at its end when the kernel takes
 * ld_imm64 offsets over its whole range (leaving the start, address 0 of the arena, free as a
 * guard for NULL pointers), else at its start.
 */
export function arenaDataOffset(m: Pick<MapSpec, "maxEntries" | "image">, pageSize: number, fullRangeOffsets: boolean): number {
  if (!fullRangeOffsets || !m.image) return 0;
  return arenaSize(m, pageSize) - roundUp(m.image.byteLength, pageSize);
}

/** Refuse an arena too small for its globals (libbpf: `-E2BIG`), naming both sizes. */
export function checkArenaFits(object: string, m: MapSpec, section: string, pageSize: number): void {
  const data = m.image?.byteLength ?? 0;
  const size = arenaSize(m, pageSize);
  if (roundUp(data, pageSize) > size) {
    throw new ObjectError("OBJECT_BAD_MAP_DEFINITION", `sec '${section}': the ARENA map '${m.name}' (${m.maxEntries} pages of ${pageSize} bytes: ${size} bytes) is too small to hold the object's __arena variables (${data} bytes, ${roundUp(data, pageSize)} in whole pages)`, { object, map: m.name, section });
  }
}

/**
 * `maps` with the arena section attached to the arena map: its name as the map's `section` and its
 * bytes as the map's `image`. Exactly one ARENA map is allowed, and arena globals need one.
 */
export function attachArenaData(object: string, elf: ElfFile, maps: MapSpec[]): MapSpec[] {
  const arenas = maps.filter(isArenaMap);
  if (arenas.length > 1) {
    throw new ObjectError("OBJECT_BAD_MAP_DEFINITION", `map '${arenas[1]!.name}': only a single ARENA map is supported (map '${arenas[0]!.name}' is also ARENA)`, { object, map: arenas[1]!.name, section: ".maps" });
  }
  const sec = elf.sections.find((s) => dataSectionKind(s) === "arena");
  if (!sec) return maps;
  const arena = arenas[0];
  if (!arena) {
    throw new ObjectError("OBJECT_BAD_MAP_DEFINITION", `sec '${sec.name}': to use global __arena variables the ARENA map should be explicitly declared in SEC(".maps")`, { object, section: sec.name });
  }
  const withData: MapSpec = { ...arena, section: sec.name, image: sec.type === SectionType.NOBITS ? new Uint8Array(sec.size) : sec.data.slice(), mmapable: true };
  checkArenaFits(object, withData, sec.name, MIN_PAGE_SIZE);
  return maps.map((m) => (m === arena ? withData : m));
}
