/** Write initial data: each data section's image (the values set before load) into its map. */
import { isArenaMap } from "../../arena.js";
import type { Phase } from "../phase.js";
import { mapError } from "./map-error.js";

const KEY0 = new Uint8Array(4);

export const writeData: Phase = {
  name: "write data",
  run(s) {
    for (const m of s.maps.values()) {
      // The arena's image went in through its mapping (the map-arena phase).
      if (!m.image || isArenaMap(m.spec)) continue;
      try {
        s.kernel.updateElement(m.fd, KEY0, m.image);
      } catch (e) {
        throw mapError(s, m.spec, e);
      }
    }
  },
};
