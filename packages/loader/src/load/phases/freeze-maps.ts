/**
 * Freeze read-only maps (`.rodata*`) before any program loads: the verifier then treats their
 * values as constants, which is what lets configuration prune code.
 */
import type { Phase } from "../phase.js";
import { mapError } from "./map-error.js";

export const freezeMaps: Phase = {
  name: "freeze read-only maps",
  run(s) {
    for (const m of s.maps.values()) {
      if (!m.spec.freeze || m.reused) continue;
      try {
        s.kernel.freezeMap(m.fd);
      } catch (e) {
        throw mapError(s, m.spec, e);
      }
    }
  },
};
