/**
 * Kernel adaptation decisions, kept pure so they can be tested with a fake feature set:
 * which BTF features to sanitise away, whether the object can do without BTF, and what a failed
 * program load means when the kernel lacks the program or attach type.
 */
import { BTF_SANITIZE_FEATURES, sanitizeBtf, type Btf, type BtfSanitizeFeature } from "@x/btf";
import {
  AttachType, FEATURES, MapFlags, MapType, ProgType, UnsupportedFeatureError, compareKernelVersions, parseKernelVersion,
  type AttachTypeValue, type FeatureName, type KernelVersion, type ProgTypeValue, type TypeProbeResult,
} from "@x/sys";

/** What the decisions ask of the kernel: `hasFeature` in production, a fake in tests. */
export interface FeatureSource {
  has(name: FeatureName): boolean;
}

/** The minimal map shape the decisions look at. */
export interface MapNeeds {
  readonly name: string;
  readonly type: number;
  readonly btfValueTypeId: number;
}

/** Map types the kernel creates only with BTF for the key and value. */
const MAP_TYPES_NEEDING_BTF: ReadonlyMap<number, string> = new Map([
  [MapType.SK_STORAGE, "SK_STORAGE"],
  [MapType.INODE_STORAGE, "INODE_STORAGE"],
  [MapType.TASK_STORAGE, "TASK_STORAGE"],
  [MapType.CGRP_STORAGE, "CGRP_STORAGE"],
  [MapType.STRUCT_OPS, "STRUCT_OPS"],
].filter(([t]) => t !== undefined) as [number, string][]);

/** Structs the kernel recognises inside a map value only through its BTF. */
const SPECIAL_VALUE_STRUCTS = new Set([
  "bpf_spin_lock", "bpf_res_spin_lock", "bpf_timer", "bpf_wq", "bpf_list_head", "bpf_list_node", "bpf_rb_root",
  "bpf_rb_node", "bpf_refcount", "bpf_task_work",
]);
/** Type tags that make a pointer a kptr. */
const KPTR_TAGS = new Set(["kptr", "kptr_untrusted", "kptr_ref", "percpu_kptr"]);

/**
 * Why the object cannot work without its BTF in the kernel (empty: it can). Like libbpf's
 * `kernel_needs_btf` (struct_ops) plus what the kernel itself demands: BTF-only map types, map
 * values holding spin locks, timers, kptrs, graph roots…, and kfunc/typed ksym externs.
 */
export function btfNeeds(btf: Btf | undefined, maps: readonly MapNeeds[]): string[] {
  const out: string[] = [];
  for (const m of maps) {
    const t = MAP_TYPES_NEEDING_BTF.get(m.type);
    if (t) out.push(`map '${m.name}' is a ${t} map`);
    else if (btf && m.btfValueTypeId) {
      const special = specialField(btf, m.btfValueTypeId, new Set());
      if (special) out.push(`map '${m.name}' holds a ${special} in its value`);
    }
  }
  const ksyms = btf?.find(".ksyms", "DATASEC");
  if (btf && ksyms !== undefined) {
    for (const v of btf.type(ksyms, "DATASEC").vars) {
      const t = btf.types[v.type];
      if (t?.kind === "FUNC") out.push(`kfunc '${t.name}' is called`);
      else if (t?.kind === "VAR" && btf.types[btf.resolve(t.type)]?.kind !== "VOID") out.push(`typed ksym '${t.name}' is used`);
    }
  }
  return out;
}

function specialField(btf: Btf, id: number, seen: Set<number>): string | undefined {
  if (seen.has(id)) return undefined;
  seen.add(id);
  const t = btf.types[id];
  if (!t) return undefined;
  switch (t.kind) {
    case "STRUCT": case "UNION":
      if (SPECIAL_VALUE_STRUCTS.has(t.name)) return `struct ${t.name}`;
      for (const m of t.members) {
        const s = specialField(btf, m.type, seen);
        if (s) return s;
      }
      return undefined;
    case "TYPE_TAG":
      if (KPTR_TAGS.has(t.name)) return `__${t.name} pointer`;
      return specialField(btf, t.type, seen);
    case "ARRAY": case "TYPEDEF": case "CONST": case "VOLATILE": case "RESTRICT": case "PTR":
      return specialField(btf, t.type, seen);
    default:
      return undefined;
  }
}

/** What to do with the object's BTF on this kernel. */
export type BtfPlan =
  /** Load this (possibly sanitised) BTF. */
  | { readonly action: "load"; readonly btf: Btf; readonly missing: readonly BtfSanitizeFeature[]; readonly changed: readonly string[] }
  /** Load no BTF; tell the user why. */
  | { readonly action: "skip"; readonly warning: string };

/**
 * Decide how to load `btf`: sanitise it for the BTF features the kernel lacks (as libbpf's
 * `sanitize_and_load_btf`), or, on a kernel without BTF, go on without it when the object can.
 * @throws UnsupportedFeatureError `btf` when the kernel has no BTF and the object needs it.
 */
export function planBtf(btf: Btf, needs: readonly string[], features: FeatureSource): BtfPlan {
  if (!features.has("btf")) {
    const f = FEATURES.btf;
    if (needs.length) {
      throw new UnsupportedFeatureError("btf", f.minKernel, `${f.description}; the object cannot load without it: ${needs.join(", ")}`);
    }
    return { action: "skip", warning: `the kernel has no BTF support (needs Linux ${f.minKernel}); loading without BTF (no func/line info, maps without BTF types)` };
  }
  const missing = BTF_SANITIZE_FEATURES.filter((name) => !features.has(name));
  if (!missing.length) return { action: "load", btf, missing, changed: [] };
  const r = sanitizeBtf(btf, missing);
  return { action: "load", btf: r.btf, missing, changed: r.changed };
}

/** One line for a sanitised load: which features were missing (with their versions) and what changed. */
export function describeSanitized(plan: Extract<BtfPlan, { action: "load" }>): string | undefined {
  // Nothing rewritten: the object uses none of what the kernel lacks, so there is nothing to say.
  if (!plan.missing.length || !plan.changed.length) return undefined;
  const feats = plan.missing.map((n) => `${n} (Linux ${FEATURES[n].minKernel})`).join(", ");
  return `the kernel lacks ${feats}: BTF sanitised as libbpf does (${plan.changed.join("; ")})`;
}

/**
 * The kernel refused the object's BTF: a warning when the object can do without it (libbpf: "BTF
 * is optional, ignoring"), otherwise the error to throw.
 */
export function btfRefused(needs: readonly string[], reason: string): { warning: string } | { error: UnsupportedFeatureError } {
  if (!needs.length) return { warning: `kernel refused the object's BTF (${reason}); loading without BTF` };
  const f = FEATURES.btf;
  return { error: new UnsupportedFeatureError("btf", f.minKernel, `the kernel refused the object's BTF (${reason}), and the object cannot load without it: ${needs.join(", ")}`) };
}

const names = (o: Record<string, number>): ReadonlyMap<number, string> => new Map(Object.entries(o).map(([k, v]) => [v, k]));
const PROG_TYPE_NAMES = names(ProgType);
const ATTACH_TYPE_NAMES = names(AttachType);

/** Probes used to explain a failed program load (`probeProgType`/`probeAttachType` in production). */
export interface TypeProbes {
  progType(type: number): TypeProbeResult;
  attachType(progType: number, attachType: number): TypeProbeResult;
  kernel(): KernelVersion;
}

/**
 * After a program failed to load: if the kernel lacks its program type or expected attach type,
 * the {@link UnsupportedFeatureError} that says so (undefined when both are there or unknown, so
 * the original error stands). Called only after a failure: never on the fast path.
 */
export function explainProgramFailure(program: string, progType: ProgTypeValue, attachType: AttachTypeValue | undefined, probes: TypeProbes): UnsupportedFeatureError | undefined {
  const typeName = PROG_TYPE_NAMES.get(progType);
  if (typeName === undefined) return undefined;
  const check = (r: TypeProbeResult, what: string) => {
    if (r.status !== "missing") return undefined;
    const running = probes.kernel();
    const known = r.minKernel !== "?" && compareKernelVersions(running, parseKernelVersion(r.minKernel)) >= 0;
    const why = known
      ? `${what} exists since Linux ${r.minKernel}, but this ${running.release} kernel does not offer it (configured out?)`
      : `${what} needs kernel ≥ ${r.minKernel}`;
    return new UnsupportedFeatureError(r.name, r.minKernel, `program '${program}': ${why}`);
  };
  const byType = check(probes.progType(progType), `program type ${typeName}`);
  if (byType) return byType;
  if (attachType === undefined) return undefined;
  const attachName = ATTACH_TYPE_NAMES.get(attachType);
  if (attachName === undefined) return undefined;
  return check(probes.attachType(progType, attachType), `expected attach type ${attachName} for ${typeName} programs`);
}

/**
 * After a map failed to be created: the missing feature behind it (ARENA maps, read-only or
 * mmapable flags), if the probes show one; undefined otherwise. Never on the fast path.
 */
export function explainMapFailure(map: string, type: number, flags: number, features: FeatureSource): UnsupportedFeatureError | undefined {
  const needs: [FeatureName, string][] = [];
  if (type === MapType.ARENA) needs.push(["arena", "is an ARENA map"]);
  if (type === MapType.STRUCT_OPS && flags & MapFlags.BPF_F_LINK) needs.push(["struct_ops_link", "is a .struct_ops.link map (BPF_F_LINK)"]);
  if (flags & MapFlags.BPF_F_RDONLY_PROG) needs.push(["rdonly_prog", "has BPF_F_RDONLY_PROG"]);
  if (flags & MapFlags.BPF_F_MMAPABLE) needs.push(["array_mmap", "has BPF_F_MMAPABLE"]);
  for (const [f, what] of needs) {
    if (!features.has(f)) return new UnsupportedFeatureError(f, FEATURES[f].minKernel, `map '${map}' ${what}: ${FEATURES[f].description}`);
  }
  return undefined;
}
