/**
 * Bind maps: tie every read-only data map (`.rodata*`, `.metadata`) to each program
 * (`BPF_PROG_BIND_MAP`) so it lives as long as the program does, as libbpf does: bpftool and
 * `xbpf prog show` find the `bpf_metadata_*` variables there. A failure only warns, and so does a
 * kernel without the command when the object has metadata to show.
 */
import { FEATURES } from "@x/sys";
import type { Phase } from "../phase.js";

const METADATA_PREFIX = "bpf_metadata_";

export const bindMaps: Phase = {
  name: "bind maps",
  run(s) {
    const rodata = [...s.maps.values()].filter((m) => m.spec.origin === "rodata");
    if (!rodata.length || !s.programs.length) return;
    if (!s.features.has("prog_bind_map")) {
      const metadata = [...s.spec.variables.keys()].filter((n) => n.startsWith(METADATA_PREFIX));
      if (metadata.length) {
        s.settings.warn(`this kernel has no BPF_PROG_BIND_MAP (Linux ${FEATURES.prog_bind_map.minKernel}): the read-only maps are not bound to the programs, so the metadata (${metadata.join(", ")}) is not shown with them`);
      }
      return;
    }
    for (const p of s.programs) {
      for (const m of rodata) {
        try {
          s.kernel.bindMap(p.fd!, m.fd);
        } catch (e) {
          // Already bound (the program uses the map) is what binding is for.
          if ((e as { errnoName?: string }).errnoName === "EEXIST") continue;
          s.settings.warn(`program '${p.spec.name}': could not bind map '${m.spec.name}': ${(e as Error).message}`);
        }
      }
    }
  },
};
