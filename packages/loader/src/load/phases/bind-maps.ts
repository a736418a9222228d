/**
 * Bind maps: tie every `.rodata*` map to each program (`BPF_PROG_BIND_MAP`) so it lives as long
 * as the program does, as libbpf does (bpftool finds `bpf_metadata_*` there). Failure only warns.
 */
import type { Phase } from "../phase.js";

export const bindMaps: Phase = {
  name: "bind maps",
  run(s) {
    const rodata = [...s.maps.values()].filter((m) => m.spec.origin === "rodata");
    if (!rodata.length || !s.programs.length || !s.features.has("prog_bind_map")) return;
    for (const p of s.programs) {
      for (const m of rodata) {
        try {
          s.kernel.bindMap(p.fd!, m.fd);
        } catch (e) {
          s.settings.warn(`program '${p.spec.name}': could not bind map '${m.spec.name}': ${(e as Error).message}`);
        }
      }
    }
  },
};
