/**
 * Map memory: map each mmapable data section into this process (read-only when frozen), so
 * variables read and write the kernel's copy directly. Without it, variables use map syscalls.
 */
import { isArenaMap } from "../../arena.js";
import type { Phase } from "../phase.js";

export const mapMemory: Phase = {
  name: "map memory",
  run(s) {
    if (!s.spec.maps.some((m) => m.mmapable && !isArenaMap(m)) || !s.features.has("array_mmap")) return;
    for (const m of s.maps.values()) {
      if (!m.spec.image || !m.spec.mmapable || isArenaMap(m.spec)) continue;
      m.memory = s.own(s.kernel.mapMemory(m.fd, { valueSize: m.spec.valueSize, maxEntries: m.spec.maxEntries, writable: !m.spec.freeze }));
    }
  },
};
