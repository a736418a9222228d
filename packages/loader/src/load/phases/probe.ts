/**
 * Probe: ask the kernel, once, about every feature the rest of the load will decide on, and stop
 * here when the object needs one it lacks. A probe that cannot tell (EPERM, ENOMEM…) fails the
 * load at this point, before anything is created; only "not supported" changes what is loaded.
 */
import { BTF_SANITIZE_FEATURES } from "@x/btf";
import { MapFlags } from "@x/sys/abi";
import { FEATURES, UnsupportedFeatureError } from "@x/sys";
import { isArenaMap } from "../../arena.js";
import { isDeclaredMap } from "../../spec.js";
import type { Phase } from "../phase.js";

export const probe: Phase = {
  name: "probe",
  run(s) {
    const f = s.features;
    const { spec } = s;
    f.probe("prog_name");
    if (spec.btf && f.probe("btf")) for (const name of BTF_SANITIZE_FEATURES) f.probe(name);
    if (spec.maps.some((m) => m.mmapable && !isArenaMap(m))) f.probe("array_mmap");
    const arena = spec.maps.find(isArenaMap);
    if (arena && !f.probe("arena")) {
      throw new UnsupportedFeatureError("arena", FEATURES.arena.minKernel, `map '${arena.name}' is a BPF arena (BPF_MAP_TYPE_ARENA), which needs kernel ≥ ${FEATURES.arena.minKernel} (arena maps)`);
    }
    if (arena?.image) f.probe("ldimm64_full_range_off");
    if (spec.maps.some((m) => !isDeclaredMap(m) && m.flags & MapFlags.BPF_F_RDONLY_PROG)) f.probe("rdonly_prog");
    const frozen = spec.maps.find((m) => m.freeze);
    if (frozen && !f.probe("map_freeze")) {
      throw new UnsupportedFeatureError("map_freeze", FEATURES.map_freeze.minKernel, `map '${frozen.name}' holds read-only globals (${frozen.section}) that must be frozen before programs load, and this kernel cannot freeze maps (needs kernel ≥ ${FEATURES.map_freeze.minKernel})`);
    }
    for (const p of s.programs) {
      const data = p.linked.relocations.find((r) => r.kind === "data");
      if (data && !f.probe("global_data")) {
        throw new UnsupportedFeatureError("global_data", FEATURES.global_data.minKernel, `program '${p.spec.name}' uses global variable '${data.symbol}' (${data.targetSection}), which needs kernel ≥ ${FEATURES.global_data.minKernel} (global data)`);
      }
      if (p.spec.kind?.attachTypeOptional) f.probe("exp_attach_type");
    }
    if (s.programs.length && spec.maps.some((m) => m.origin === "rodata")) f.probe("prog_bind_map");
  },
};
