/**
 * Initial slots (`.values`): a map of maps gets its inner maps' fds once every map exists (libbpf
 * `init_map_in_map_slots`), a program array its programs' fds once they are loaded (libbpf
 * `bpf_object_init_prog_arrays`). A map reused from a pin keeps what it holds.
 */
import { HOST_LITTLE_ENDIAN } from "@x/elf/layout";
import { isMapInMap } from "../../btf-maps.js";
import { LoadError } from "../../errors.js";
import { MapType } from "@x/sys/abi";
import type { Phase } from "../phase.js";
import type { LoadState, MapState } from "../state.js";

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, HOST_LITTLE_ENDIAN);
  return b;
}

function fill(s: LoadState, m: MapState, fdOf: (name: string, slot: number) => number | undefined): void {
  for (const [slot, name] of m.spec.slots!) {
    const fd = fdOf(name, slot);
    if (fd === undefined) continue;
    try {
      s.kernel.updateElement(m.fd, u32(slot), u32(fd));
    } catch (e) {
      const sys = e as { command?: string; errnoName?: string };
      throw new LoadError("LOAD_MAP", `map '${m.spec.name}': failed to initialize slot [${slot}] to '${name}': ${(e as Error).message}`, { object: s.spec.name, map: m.spec.name, command: sys.command, errnoName: sys.errnoName }, { cause: e });
    }
  }
}

const withSlots = (s: LoadState, pick: (type: number) => boolean) => [...s.maps.values()].filter((m) => m.spec.slots?.size && !m.reused && pick(m.spec.type));

export const fillMapSlots: Phase = {
  name: "fill map slots",
  run(s) {
    for (const m of withSlots(s, isMapInMap)) {
      fill(s, m, (name) => {
        const inner = s.maps.get(name);
        if (!inner) throw new LoadError("LOAD_MAP", `map '${m.spec.name}': slot holds map '${name}', which the object does not define`, { object: s.spec.name, map: m.spec.name });
        return inner.fd.fd;
      });
    }
  },
};

export const fillProgramSlots: Phase = {
  name: "fill program arrays",
  run(s) {
    for (const m of withSlots(s, (t) => t === MapType.PROG_ARRAY)) {
      fill(s, m, (name, slot) => {
        const p = s.programs.find((x) => x.spec.name === name);
        if (p?.fd) return p.fd.fd;
        // Loading a chosen few programs leaves the others' slots empty; otherwise it is libbpf's error.
        if (s.settings.programs) {
          s.settings.warn(`map '${m.spec.name}': slot [${slot}] left empty: program '${name}' is not among the programs loaded`);
          return undefined;
        }
        throw new LoadError("LOAD_MAP", `map '${m.spec.name}': slot [${slot}] holds program '${name}', which is not loaded (its section is '?'-prefixed or autoload is off)`, { object: s.spec.name, map: m.spec.name, program: name });
      });
    }
  },
};
