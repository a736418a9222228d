/**
 * Sanitise and load BTF (libbpf `sanitize_and_load_btf`): rewrite the kinds this kernel lacks,
 * make hidden global functions static, load it; go on without BTF when the object can.
 */
import { BTF_SANITIZE_FEATURES, type Btf, btfExtStrings, btfForKernelWithExterns, patchDatasecsInPlace } from "@x/btf";
import { BpfSyscallError } from "@x/sys";
import { btfNeeds, btfRefused, describeSanitized, planBtf } from "../../adapt.js";
import type { ObjectSpec } from "../../spec.js";
import type { Phase } from "../phase.js";
import type { FeatureSet } from "../state.js";

/** The BTF bytes a spec loads with on a kernel with a given feature set. */
export interface PreparedBtf {
  readonly bytes: Uint8Array;
  stringOffset(s: string): number | undefined;
  /** Why the object cannot do without BTF (empty: it can). */
  readonly needs: readonly string[];
  readonly warnings: readonly string[];
}

export const loadBtf: Phase = {
  name: "sanitise and load BTF",
  run(s) {
    const { spec } = s;
    if (!spec.btf) return;
    const p = prepareBtf(spec, spec.btf, s.features);
    if ("skip" in p) {
      s.settings.warn(p.skip);
      return;
    }
    for (const w of p.warnings) s.settings.warn(w);
    try {
      s.btf = { fd: s.own(s.kernel.loadBtf(p.bytes)), stringOffset: p.stringOffset };
    } catch (e) {
      // As libbpf: BTF is optional unless the object needs it; carry on without it.
      if (!(e instanceof BpfSyscallError)) throw e;
      const r = btfRefused(p.needs, `${e.errnoName}${e.log ? `:\n${e.log}` : ""}`);
      if ("error" in r) {
        r.error.cause = e;
        throw r.error;
      }
      s.settings.warn(r.warning);
    }
  },
};

/**
 * What to load for this kernel. Reloading a template on the same kernel prepares the same bytes,
 * so the result is kept with the spec, keyed by the features it depends on.
 */
function prepareBtf(spec: ObjectSpec, btf: Btf, features: FeatureSet): PreparedBtf | { skip: string } {
  const key = features.has("btf") ? BTF_SANITIZE_FEATURES.filter((n) => !features.has(n)).join(",") : "no btf";
  return spec.memo(`btf for kernels lacking: ${key}`, () => {
    const needs = btfNeeds(btf, spec.maps);
    // Externs first, as libbpf rewrites them at open: the kernel refuses extern linkage.
    const withExterns = spec.externs.length ? btfForKernelWithExterns(btf) : btf;
    const plan = planBtf(withExterns, needs, features);
    if (plan.action === "skip") return { skip: plan.warning };
    const sanitized = describeSanitized(plan);
    const out = markHiddenSubprogramsStatic(plan.btf, plan.btf !== btf, spec);
    // The object's own bytes can be sent only when nothing but the DATASEC fix-up changed.
    // Unchanged types (the usual case on a current kernel): the object's own bytes with the DATASEC
    // fix-up written in, as libbpf sends them; otherwise encode the edited table.
    const enc = (out === btf ? patchDatasecsInPlace(btf, spec.elf.section(".BTF")!.data) : undefined)
      ?? out.encodeWithStrings({ extraStrings: spec.btfExt ? btfExtStrings(spec.btfExt) : [] });
    return { bytes: enc.bytes, stringOffset: (str: string) => enc.stringOffset(str), needs, warnings: sanitized ? [sanitized] : [] };
  });
}

/**
 * libbpf `sanitize_and_load_btf`: a global function the object hides (`__hidden`, STV_HIDDEN) is a
 * static subprogram to the verifier, so its BTF FUNC must say static linkage too.
 */
function markHiddenSubprogramsStatic(btf: Btf, owned: boolean, spec: ObjectSpec): Btf {
  const hidden = new Set(spec.subprograms.filter((f) => f.global && f.hidden).map((f) => f.name));
  if (!hidden.size) return btf;
  // Never edit the spec's own BTF: it is what the object says, and what a patched file keeps.
  const out = owned ? btf : btf.clone();
  for (const t of out.types) if (t.kind === "FUNC" && t.linkage === "global" && hidden.has(t.name)) t.linkage = "static";
  return out;
}
