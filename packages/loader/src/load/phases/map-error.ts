/** A map step failed: the error that names the map, or the missing kernel feature behind it. */
import { BpfSyscallError, UnsupportedFeatureError } from "@x/sys";
import { explainMapFailure } from "../../adapt.js";
import { LoadError, ObjectError } from "../../errors.js";
import type { MapSpec } from "../../spec.js";
import type { LoadState } from "../state.js";

export function mapError(s: LoadState, m: MapSpec, e: unknown): Error {
  if (e instanceof UnsupportedFeatureError || e instanceof LoadError) return e;
  // What a loader program cannot replay is a refusal of the object, not the kernel's answer about a map.
  if (e instanceof ObjectError && e.code === "OBJECT_LOADER_PROGRAM") return e.within({ object: s.spec.name, map: m.name });
  const sys = e instanceof BpfSyscallError ? e : undefined;
  const err = new LoadError("LOAD_MAP", `map '${m.name}': ${(e as Error).message}`, { object: s.spec.name, map: m.name, command: sys?.command, errnoName: sys?.errnoName, log: sys?.log }, { cause: e });
  // Only after a failed create (off the fast path): was it a map type or flag this kernel lacks?
  if (sys?.command !== "BPF_MAP_CREATE") return err;
  let missing: UnsupportedFeatureError | undefined;
  try {
    missing = explainMapFailure(m.name, m.type, m.flags, { has: (f) => s.features.probe(f) });
  } catch {
    // A probe that cannot tell explains nothing: the kernel's own answer stands.
  }
  if (!missing) return err;
  missing.cause = err;
  return missing;
}
