/**
 * CO-RE relocation of one object against the kernel's BTF: candidate target types (libbpf
 * `bpf_core_find_cands`, `bpf_core_add_cands`, with its per-object `cand_cache`) and the relocation
 * result for one `bpf_core_relo` (`bpf_core_resolve_relo`, `bpf_core_calc_relo_insn`).
 *
 * @packageDocumentation
 */
import { BpfCoreReloKind } from "../ext.js";
import { essentialName } from "../externs.js";
import type { BtfKind, BtfType } from "../types.js";
import { calcCoreRelocation, type CoreMessageContext, type CoreRelocationValues } from "./calc.js";
import { CoreRelocationError } from "./errors.js";
import { kindsCoreCompatible, matchCoreSpec } from "./match.js";
import {
  type CoreBtf, type CoreRelo, type CoreReloKindName, type CoreSpec, coreError, coreReloKindName,
  formatCoreSpec, kindString, parseCoreSpec,
} from "./spec.js";

/** A BTF relocations are resolved against: vmlinux's, or a kernel module's (split on vmlinux's). */
export interface CoreTarget {
  /** For messages: `vmlinux`, or the module's name. */
  readonly name: string;
  readonly btf: CoreBtf;
}

/** A candidate target type: a type of `target` whose essential name and kind fit the local type. */
export interface CoreCandidate {
  readonly target: CoreTarget;
  readonly id: number;
}

/** Options of {@link CoreContext}. */
export interface CoreContextOptions {
  /**
   * The program's byte order, which `FIELD_LSHIFT_U64` depends on (libbpf uses its host's, the same as
   * the kernel's). Default: the local BTF's `littleEndian` when it has one, else little endian.
   */
  readonly littleEndian?: boolean;
}

/** Where a relocation is, for messages and error locations (libbpf's `prog '%s': relo #%d:`). */
export interface CoreRelocationSite {
  /** The program (function) the instruction belongs to. */
  readonly program?: string;
  /** The ELF section of the record. */
  readonly section?: string;
  /** The record's index in its section's CO-RE relocations (libbpf `relo #N`). */
  readonly reloIndex?: number;
  /** The instruction's index, if not `insnOff / 8` (e.g. relative to the program). */
  readonly insnIndex?: number;
}

/** The candidate that decided a relocation. */
export interface CoreRelocationTarget {
  /** The {@link CoreTarget.name} of its BTF. */
  readonly btf: string;
  /** Its type id there. */
  readonly typeId: number;
  /** Its spec, as libbpf prints it (see {@link formatCoreSpec}). */
  readonly spec: string;
}

/** The result of one relocation: what to patch the instruction with, and why. */
export interface CoreRelocationResult extends CoreRelocationValues {
  readonly kind: CoreReloKindName;
  /** The local spec as libbpf prints it: `<byte_off> [7] struct task_struct.pid (0:50 @ offset 1234)`. */
  readonly localSpec: string;
  /** The first matching candidate (every other matching one gave the same result); undefined when none matched. */
  readonly target: CoreRelocationTarget | undefined;
  /** How many candidates matched (0 for `TYPE_ID_LOCAL`, which has none). */
  readonly matches: number;
  /**
   * Why nothing matched (set exactly when `target` is undefined, except for `TYPE_ID_LOCAL`): the
   * instruction is poisoned, or an `*_EXISTS`/`TYPE_MATCHES` relocation is 0 (and `TYPE_SIZE`/`TYPE_ID_TARGET` are 0, as in libbpf).
   * E.g. `field 'bar' not found in struct foo of vmlinux`, `no struct 'foo' in vmlinux`.
   */
  readonly reason: string | undefined;
}

/** Per target BTF: its own types whose name has a flavour suffix, by essential name. */
const flavoured = new WeakMap<CoreBtf, { count: number; byEssential: Map<string, number[]> }>();

/**
 * Ids of the own types of `btf` whose name has a `___flavour` suffix, by essential name: `idsByName`
 * cannot find `nf_conn___init` for `nf_conn`. Built once per BTF (one walk of its types; rebuilt if
 * types were added).
 */
function flavouredIds(btf: CoreBtf, essential: string): readonly number[] {
  let entry = flavoured.get(btf);
  if (entry === undefined || entry.count !== btf.count) {
    const byEssential = new Map<string, number[]>();
    for (let id = btf.startId; id < btf.count; id++) {
      const name = btf.type(id).name;
      if (!name.includes("___")) continue;
      const e = essentialName(name);
      if (e === name) continue;
      const l = byEssential.get(e);
      if (l) l.push(id); else byEssential.set(e, [id]);
    }
    entry = { count: btf.count, byEssential };
    flavoured.set(btf, entry);
  }
  return entry.byEssential.get(essential) ?? [];
}

/**
 * libbpf `bpf_core_add_cands`: the own types of `target` whose kind is CO-RE compatible with
 * `local`'s (the same, or both enums) and whose essential name is `essential`, in id order.
 */
export function findCoreCandidates(local: BtfType, essential: string, target: CoreTarget): CoreCandidate[] {
  const btf = target.btf;
  const kinds: readonly BtfKind[] = local.kind === "ENUM" || local.kind === "ENUM64" ? ["ENUM", "ENUM64"] : [local.kind];
  const ids: number[] = [];
  if (btf.idsByEssentialName !== undefined) {
    // With the kind, a lazy BTF indexes the names of that kind only.
    for (const kind of kinds) ids.push(...btf.idsByEssentialName(essential, kind));
  } else {
    for (const kind of kinds) for (const id of btf.idsByName(essential, kind)) if (btf.type(id).kind === kind) ids.push(id);
    ids.push(...flavouredIds(btf, essential));
  }
  ids.sort((a, b) => a - b);
  const out: CoreCandidate[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (i > 0 && ids[i - 1] === id) continue;
    const t = btf.type(id);
    if (kindsCoreCompatible(t, local) && t.name !== "" && essentialName(t.name) === essential) out.push({ target, id });
  }
  return out;
}

/**
 * One object's CO-RE relocation run (create one per load): its BTF (`local`), the target BTFs, and
 * libbpf's candidate cache. Targets are searched as libbpf searches them: the first (vmlinux, or a
 * custom BTF) alone, and only if it has no candidate, every other one (the kernel modules, split BTF
 * on vmlinux's) in order. The cache keeps one candidate list per local type id, and a relocation
 * that matches some candidates narrows the list for the next relocations of that type, as libbpf's
 * `cand_cache` does.
 */
export class CoreContext {
  readonly local: CoreBtf;
  readonly littleEndian: boolean;
  /** The targets taken from the iterable so far, in order; the rest is taken only when a search needs it. */
  readonly #taken: CoreTarget[] = [];
  #rest: Iterator<CoreTarget> | undefined;
  readonly #candidates = new Map<number, CoreCandidate[]>();
  /** Per local type id: whether the modules were searched (vmlinux had no candidate). */
  readonly #searchedModules = new Map<number, boolean>();

  /**
   * @param targets the first (vmlinux's or a custom BTF) then the modules'. Iterated lazily: the
   *   modules (a walk of the kernel's BTF objects) are taken only when the first has no candidate.
   */
  constructor(local: CoreBtf, targets: Iterable<CoreTarget>, options: CoreContextOptions = {}) {
    this.local = local;
    this.#rest = targets[Symbol.iterator]();
    this.littleEndian = options.littleEndian ?? (local as { littleEndian?: boolean }).littleEndian ?? true;
  }

  /**
   * The candidate target types for local type `localTypeId` (libbpf `bpf_core_find_cands`), cached;
   * narrowed by the relocations already computed for that type. A copy of the current list.
   * @throws CoreRelocationError `CORE_UNSUPPORTED` for an anonymous type, `CORE_BAD_SPEC` for an id out of range.
   */
  candidates(localTypeId: number): readonly CoreCandidate[] {
    return this.#cands(localTypeId).slice();
  }

  #cands(localTypeId: number): CoreCandidate[] {
    const cached = this.#candidates.get(localTypeId);
    if (cached) return cached;
    const t = this.#localType(localTypeId);
    if (t.name === "") {
      throw coreError("CORE_UNSUPPORTED", `target candidate search failed for [${localTypeId}] ${kindString(t)} <anon>: CO-RE relocations of anonymous types are not supported`, this.local, localTypeId);
    }
    const essential = essentialName(t.name);
    const main = this.#target(0);
    let cands = main ? findCoreCandidates(t, essential, main) : [];
    const modules = cands.length === 0 && main ? this.#modules() : [];
    const searchedModules = modules.length > 0;
    if (searchedModules) cands = modules.flatMap((m) => findCoreCandidates(t, essential, m));
    this.#candidates.set(localTypeId, cands);
    this.#searchedModules.set(localTypeId, searchedModules);
    return cands;
  }

  /** Every target, in order (taking the rest of the iterable). */
  get targets(): readonly CoreTarget[] {
    this.#modules();
    return this.#taken;
  }

  /** Target `i`, taking it from the iterable if needed. */
  #target(i: number): CoreTarget | undefined {
    while (this.#taken.length <= i && this.#rest) {
      const r = this.#rest.next();
      if (r.done) this.#rest = undefined;
      else this.#taken.push(r.value);
    }
    return this.#taken[i];
  }

  /** The targets after the first (the modules), all of them. */
  #modules(): readonly CoreTarget[] {
    while (this.#target(this.#taken.length) !== undefined);
    return this.#taken.slice(1);
  }

  #localType(id: number): BtfType {
    try {
      return this.local.type(id);
    } catch (e) {
      throw coreError("CORE_BAD_SPEC", `relocation type id ${id} is out of range`, undefined, id, e);
    }
  }

  /**
   * Compute one relocation (libbpf `bpf_core_resolve_relo` + `bpf_core_calc_relo_insn`): parse the
   * local spec, match it against every candidate, check that all matching candidates agree, and give
   * the values to patch the instruction with (`@x/reloc`'s `patchCoreInstruction`). When no candidate
   * matches, `*_EXISTS` and `TYPE_MATCHES` give 0 (so do `TYPE_SIZE` and `TYPE_ID_TARGET`, as in
   * libbpf) and the other kinds poison the instruction; `reason` says why nothing matched.
   *
   * @throws CoreRelocationError `CORE_AMBIGUOUS` when matching candidates disagree, and the other
   *   codes where libbpf fails the load (a malformed record, an anonymous type, a bitfield no load can
   *   read…); messages start as libbpf's: `prog 'p': relo #3: `.
   */
  relocate(relo: CoreRelo, site: CoreRelocationSite = {}): CoreRelocationResult {
    const insnIndex = site.insnIndex ?? Math.floor(relo.insnOff / 8);
    const prefix = `${site.program !== undefined ? `prog '${site.program}': ` : ""}relo #${site.reloIndex ?? "?"}: `;
    const m: CoreMessageContext = { prefix, insnIndex };
    try {
      return this.#relocate(relo, m);
    } catch (e) {
      if (e instanceof CoreRelocationError) {
        const msg = e.message.startsWith(prefix) ? e.message : `${prefix}${e.message}`;
        const err = new CoreRelocationError(e.code, msg, { ...e.location, program: site.program, section: site.section, insnIndex }, { cause: e.cause });
        throw err;
      }
      if (e instanceof Error && "within" in e && typeof e.within === "function") {
        throw e.within({ program: site.program, section: site.section, insnIndex });
      }
      throw e;
    }
  }

  #relocate(relo: CoreRelo, m: CoreMessageContext): CoreRelocationResult {
    const kind = coreReloKindName(relo.kind);
    const localType = this.#localType(relo.typeId);
    const cands = relo.kind === BpfCoreReloKind.TYPE_ID_LOCAL ? [] : this.#cands(relo.typeId);
    const localSpec = parseCoreSpec(this.local, relo);
    if (kind === undefined) throw coreError("CORE_BAD_SPEC", `unrecognized CO-RE relocation kind ${relo.kind} at insn #${m.insnIndex}`, this.local, relo.typeId);
    const localText = formatCoreSpec(localSpec);

    if (relo.kind === BpfCoreReloKind.TYPE_ID_LOCAL) {
      // the type id in the instruction may change when objects are linked: not validated
      const id = BigInt(localSpec.rootTypeId);
      return {
        kind, origVal: id, newVal: id, poison: false, validate: false, failMemszAdjust: false,
        origSize: 0, newSize: 0, origTypeId: 0, newTypeId: 0, localSpec: localText, target: undefined, matches: 0, reason: undefined,
      };
    }

    let first: { spec: CoreSpec; res: CoreRelocationValues; cand: CoreCandidate } | undefined;
    const kept: CoreCandidate[] = [];
    const reasons: string[] = [];
    for (const cand of cands) {
      const spec = matchCoreSpec(localSpec, cand.target.btf, cand.id, cand.target.name);
      if (typeof spec === "string") {
        reasons.push(spec);
        continue;
      }
      const res = calcCoreRelocation(relo.kind, localSpec, spec, this.littleEndian, m);
      if (first === undefined) {
        first = { spec, res, cand };
      } else if (spec.bitOffset !== first.spec.bitOffset) {
        throw coreError("CORE_AMBIGUOUS", `${m.prefix}field offset ambiguity: ${spec.bitOffset} != ${first.spec.bitOffset}: ${describeMatch(spec, cand)} vs ${describeMatch(first.spec, first.cand)}`, this.local, relo.typeId);
      } else if (res.poison !== first.res.poison || res.newVal !== first.res.newVal) {
        const what = (r: CoreRelocationValues) => `${r.poison ? "failure" : "success"} ${r.newVal}`;
        throw coreError("CORE_AMBIGUOUS", `${m.prefix}relocation decision ambiguity: ${what(res)} != ${what(first.res)}: ${describeMatch(spec, cand)} vs ${describeMatch(first.spec, first.cand)}`, this.local, relo.typeId);
      }
      kept.push(cand);
    }

    if (first !== undefined) {
      // libbpf narrows the cached list to the candidates that matched
      cands.splice(0, cands.length, ...kept);
      return {
        kind, ...first.res, localSpec: localText, matches: kept.length, reason: undefined,
        target: { btf: first.cand.target.name, typeId: first.cand.id, spec: formatCoreSpec(first.spec) },
      };
    }
    const res = calcCoreRelocation(relo.kind, localSpec, undefined, this.littleEndian, m);
    const reason = reasons.length > 0 ? reasons.join("; ") : this.#noCandidates(relo.typeId, localType);
    return { kind, ...res, localSpec: localText, target: undefined, matches: 0, reason };
  }

  #noCandidates(localTypeId: number, t: BtfType): string {
    const essential = essentialName(t.name);
    const what = `${kindWord(t)} '${essential}'${essential !== t.name ? ` (for '${t.name}')` : ""}`;
    const main = this.#target(0);
    if (main === undefined) return `no target BTF to look for ${what} in`;
    if (this.#searchedModules.get(localTypeId)) return `no ${what} in ${main.name} nor in ${this.#modules().map((x) => x.name).join(", ")}`;
    return `no ${what} in ${main.name}`;
  }
}

/** `<spec> in <btf>` for ambiguity errors. */
function describeMatch(spec: CoreSpec, cand: CoreCandidate): string {
  return `${formatCoreSpec(spec)} in ${cand.target.name}`;
}

/** How a kind is named in "no struct 'foo' in vmlinux". */
function kindWord(t: BtfType): string {
  switch (t.kind) {
    case "ENUM": case "ENUM64": return "enum";
    case "FWD": return t.union ? "union" : "struct";
    default: return t.kind.toLowerCase();
  }
}

