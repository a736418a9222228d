/**
 * Program type and expected attach type from an ELF section name, as libbpf decides them.
 *
 * The table is libbpf's own `section_defs[]`, generated from libbpf.c into
 * `section-defs.generated.ts` by `tools/gen-section-defs.mjs` (`pnpm gen:sections`); this module
 * only interprets it, with libbpf's rules:
 *
 * - **first match wins**, in libbpf's table order (`find_sec_def`), not the longest match. (With
 *   the matching rules below, no two definitions of libbpf 1.5's table claim the same name, so
 *   the order decides nothing there yet; it does for tables that overlap, as custom ones may.)
 * - **matching** (`sec_def_matches`) depends on how the definition ends:
 *   - `"type/"`: the section must have the proper `SEC("type/extras")` form (a plain prefix match);
 *   - `"type+"`: the section is exactly `SEC("type")` or `SEC("type/extras")` with a `/` separator
 *     (so `kprobe+` matches `kprobe` and `kprobe/do_sys_open`, but not `kprobex` nor `kprobe.multi`);
 *   - anything else: an exact match (`xdp` matches `xdp` only, not `xdp/foo`).
 * - a leading **`?`** is not part of the name: libbpf strips it and marks the program as not
 *   loaded by default (autoload false).
 */
import { AttachType, ProgType, type AttachTypeValue, type ProgTypeValue } from "@x/sys/abi";
import { LIBBPF_SECTION_DEFS, SecFlag, type LibbpfAttachHandler, type LibbpfSectionDef } from "./section-defs.generated.js";

export { LIBBPF_SECTION_DEFS, SecFlag, type LibbpfAttachHandler, type LibbpfSectionDef };

/** What a section name says about the programs in it. */
export interface ProgramKind {
  /** Section name without a leading `?`. */
  readonly section: string;
  /** `enum bpf_prog_type` ({@link progTypeName} gives its name, e.g. `SCHED_CLS`). */
  readonly progType: ProgTypeValue;
  /** `enum bpf_attach_type` passed as expected_attach_type at load, if any ({@link attachTypeName}). */
  readonly attachType?: AttachTypeValue;
  /**
   * The expected attach type may be dropped on kernels that do not support expected_attach_type
   * (libbpf SEC_EXP_ATTACH_OPT, also part of SEC_ATTACHABLE_OPT).
   */
  readonly attachTypeOptional: boolean;
  /** Loaded with BPF_F_SLEEPABLE. */
  readonly sleepable: boolean;
  /** XDP program loaded with BPF_F_XDP_HAS_FRAGS. */
  readonly frags: boolean;
  /**
   * For BTF-attached programs (libbpf SEC_ATTACH_BTF: fentry/fexit/fmod_ret, tp_btf, lsm, iter…):
   * the target named after the first `/` (e.g. the function of `fentry/do_unlinkat`); undefined
   * when the section has no `/`.
   */
  readonly attachTarget?: string;
  /** False for `?`-prefixed sections (libbpf: not loaded unless asked for). */
  readonly autoload: boolean;
  /** The libbpf definition that matched (its `sec` as libbpf writes it, flags and attach handler). */
  readonly def: LibbpfSectionDef;
  /** Only the looser rule of older loaders matched ({@link looseSectionDef}): libbpf 1.x would refuse the name. */
  readonly loose: boolean;
}

/** libbpf's `sec_def_matches`: does definition `def` claim section `name` (without its `?`)? */
export function sectionDefMatches(def: LibbpfSectionDef, name: string): boolean {
  const sec = def.sec;
  // "type/" always has to have proper SEC("type/extras") form
  if (sec.endsWith("/")) return name.startsWith(sec);
  // "type+" means it can be either exact SEC("type") or well-formed SEC("type/extras")
  if (sec.endsWith("+")) {
    const type = sec.slice(0, -1);
    return name.startsWith(type) && (name.length === type.length || name[type.length] === "/");
  }
  return name === sec;
}

/**
 * libbpf's `find_sec_def`: the first definition, in table order, that matches `name` (without its
 * `?`). `defs` defaults to libbpf's table.
 */
export function findSectionDef(name: string, defs: readonly LibbpfSectionDef[] = LIBBPF_SECTION_DEFS): LibbpfSectionDef | undefined {
  for (const def of defs) if (sectionDefMatches(def, name)) return def;
  return undefined;
}

/**
 * The looser names older loaders and cilium/ebpf accept, tried only when libbpf's table has no match:
 * an exact-match definition followed by `/anything` (`socket/1`, `sk_lookup/dispatch`, `xdp/prog`,
 * `sk_skb/stream_parser/x`: libbpf 1.x refuses the suffix, libbpf 0.x and cilium/ebpf ignore it). The
 * longest such definition wins.
 */
export function looseSectionDef(name: string, defs: readonly LibbpfSectionDef[] = LIBBPF_SECTION_DEFS): LibbpfSectionDef | undefined {
  for (let slash = name.lastIndexOf("/"); slash > 0; slash = name.lastIndexOf("/", slash - 1)) {
    const base = name.slice(0, slash);
    const def = defs.find((d) => !d.sec.endsWith("/") && !d.sec.endsWith("+") && d.sec === base);
    if (def) return def;
  }
  return undefined;
}

/** Resolve a program's type from its section name, or undefined when no libbpf convention matches. */
export function programKindOf(sectionName: string): ProgramKind | undefined {
  const autoload = !sectionName.startsWith("?");
  const section = autoload ? sectionName : sectionName.slice(1);
  const strict = findSectionDef(section);
  const def = strict ?? looseSectionDef(section);
  if (!def) return undefined;
  const slash = section.indexOf("/");
  return {
    section,
    progType: def.progType,
    attachType: def.attachType,
    attachTypeOptional: (def.flags & SecFlag.EXP_ATTACH_OPT) !== 0,
    sleepable: (def.flags & SecFlag.SLEEPABLE) !== 0,
    frags: def.progType === ProgType.XDP && (def.flags & SecFlag.XDP_FRAGS) !== 0,
    attachTarget: (def.flags & SecFlag.ATTACH_BTF) !== 0 && slash >= 0 ? section.slice(slash + 1) : undefined,
    autoload,
    loose: !strict,
    def,
  };
}

const invert = (o: Record<string, number>): ReadonlyMap<number, string> => new Map(Object.entries(o).map(([k, v]) => [v, k]));
const PROG_TYPE_NAMES = invert(ProgType);
const ATTACH_TYPE_NAMES = invert(AttachType);

/** `enum bpf_prog_type` name without `BPF_PROG_TYPE_` (`SCHED_CLS`), or the number when unknown. */
export function progTypeName(type: number): string {
  return PROG_TYPE_NAMES.get(type) ?? String(type);
}

/** `enum bpf_attach_type` name without `BPF_` (`TCX_INGRESS`), or the number when unknown. */
export function attachTypeName(type: number): string {
  return ATTACH_TYPE_NAMES.get(type) ?? String(type);
}
