/**
 * Map the arena (libbpf `bpf_object__create_maps`, arena part): right after the maps are created and
 * before any program loads, map the arena's whole range at its `map_extra` (the address its programs'
 * pointers are relative to), and copy the `__arena` globals' image in at their offset. The copy is
 * what faults those pages into the arena, so the program's own allocations never overlap them.
 */
import { arenaDataOffset, arenaSize, checkArenaFits, isArenaMap } from "../../arena.js";
import type { ArenaRegion } from "../kernel.js";
import type { Phase } from "../phase.js";
import { mapError } from "./map-error.js";

export const mapArena: Phase = {
  name: "map arena",
  run(s) {
    const m = [...s.maps.values()].find((x) => isArenaMap(x.spec));
    if (!m) return;
    const page = s.kernel.pageSize();
    if (m.spec.section) checkArenaFits(s.spec.name, m.spec, m.spec.section, page);
    let region: ArenaRegion;
    try {
      region = s.own(s.kernel.mapArena(m.fd, { size: arenaSize(m.spec, page), address: m.spec.mapExtra }));
    } catch (e) {
      throw mapError(s, m.spec, e);
    }
    const dataOffset = arenaDataOffset(m.spec, page, !!m.image && s.features.has("ldimm64_full_range_off"));
    // A reused (pinned) arena keeps what it holds; a new one gets the globals' initial values.
    if (m.image && !m.reused) region.write(dataOffset, m.image);
    m.memory = region;
    s.arena = { map: m, region, dataOffset };
  },
};
