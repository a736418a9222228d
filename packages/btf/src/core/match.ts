/**
 * Matching a local CO-RE spec against one candidate target type (libbpf `bpf_core_spec_match`,
 * `bpf_core_match_member`, `bpf_core_fields_are_compat`), and the `TYPE_MATCHES` relation
 * (`bpf_core_types_match`). Where libbpf answers "no match" (0), these return why, as a string;
 * where it fails (a negative error), they throw.
 *
 * @packageDocumentation
 */
import type { Btf } from "../btf.js";
import { typesAreCompatible } from "../compat.js";
import { BpfCoreReloKind } from "../ext.js";
import { essentialName } from "../externs.js";
import { formatType } from "../format.js";
import { BtfIntEncoding, type BtfType } from "../types.js";
import {
  CORE_SPEC_MAX_LEN, type CoreAccessor, type CoreBtf, type CoreSpec, coreError, describeType, isEnumvalBased, isFieldBased,
  isFlexArray, isTypeBased, type MutableCoreSpec, sizeOf, skipMods,
} from "./spec.js";

/** libbpf's bound on nested comparisons (`level`) and on the steps of one (`depth`). */
const MAX_DEPTH = 32;

/** formatType and typesAreCompatible only call `type()` and `resolve()`, which every {@link CoreBtf} has. */
const asBtf = (b: CoreBtf): Btf => b as unknown as Btf;

/** A type spelled as C, for messages; `[id] kind name` when it cannot be spelled. */
export function spell(btf: CoreBtf, id: number): string {
  try {
    return formatType(asBtf(btf), id);
  } catch {
    return describeType(btf, id);
  }
}

export const isComposite = (t: BtfType): t is Extract<BtfType, { kind: "STRUCT" | "UNION" }> => t.kind === "STRUCT" || t.kind === "UNION";
export const isAnyEnum = (t: BtfType): t is Extract<BtfType, { kind: "ENUM" | "ENUM64" }> => t.kind === "ENUM" || t.kind === "ENUM64";

/** libbpf `btf_kind_core_compat`: the same kind, or both an ENUM/ENUM64. */
export function kindsCoreCompatible(a: BtfType, b: BtfType): boolean {
  return a.kind === b.kind || (isAnyEnum(a) && isAnyEnum(b));
}

function tooDeep(what: string, btf: CoreBtf, id: number): Error {
  return coreError("CORE_UNSATISFIABLE", what, btf, id);
}

/**
 * libbpf `bpf_core_fields_are_compat`: whether a local field's type can be relocated to a target
 * field's. Modifiers and typedefs are skipped; any two structs/unions are compatible, as are any
 * two pointers and any two floats; FWDs and enums need equal essential names (or one anonymous);
 * INTs any size and sign, unless bitfield-like (a bit offset); arrays compare their elements.
 */
export function fieldsAreCompatible(local: CoreBtf, localId: number, target: CoreBtf, targetId: number): true | string {
  const top = () => `${spell(local, localId)} vs ${spell(target, targetId)}`;
  for (let steps = 0; ; steps++) {
    // libbpf has no bound here (only arrays are followed); a loop of arrays would never end
    if (steps > local.count + target.count) throw tooDeep(`${top()}: arrays of arrays loop`, local, localId);
    const [, lt] = skipMods(local, localId);
    const [, tt] = skipMods(target, targetId);
    if (isComposite(lt) && isComposite(tt)) return true;
    if (!kindsCoreCompatible(lt, tt)) return `${top()}: ${lt.kind} vs ${tt.kind}`;
    switch (lt.kind) {
      case "PTR": case "FLOAT":
        return true;
      case "FWD": case "ENUM": case "ENUM64": {
        const ln = essentialName(lt.name);
        const tn = essentialName(tt.name);
        if (ln === "" || tn === "" || ln === tn) return true;
        return `${top()}: '${lt.name}' vs '${tt.name}'`;
      }
      case "INT": {
        const to = (tt as typeof lt).offset;
        if (lt.offset === 0 && to === 0) return true;
        return `${top()}: an INT with a bit offset is a bitfield, never compatible`;
      }
      case "ARRAY":
        localId = lt.type;
        targetId = (tt as typeof lt).type;
        break;
      default:
        return `${top()}: ${lt.kind} is never relocated`;
    }
  }
}

type MemberMatch = { readonly next: number } | { readonly incompatible: string } | undefined;

/**
 * libbpf `bpf_core_match_member`: find the local accessor's field by name in target type `targetId`,
 * descending into anonymous members, pushing raw steps and bit offsets on `spec` as it goes and the
 * high-level accessor when found. `undefined`: no member of that name.
 */
function matchMember(local: CoreBtf, acc: CoreAccessor, target: CoreBtf, targetId: number, spec: MutableCoreSpec): MemberMatch {
  const [tid, tt] = skipMods(target, targetId);
  if (!isComposite(tt)) return undefined;
  const lt = local.type(acc.typeId);
  const lm = (lt as Extract<BtfType, { kind: "STRUCT" | "UNION" }>).members[acc.idx]!;
  let incompatible: MemberMatch;
  for (let i = 0; i < tt.members.length; i++) {
    const m = tt.members[i]!;
    if (spec.raw.length === CORE_SPEC_MAX_LEN) throw tooDeep(`struct/union/array nesting deeper than ${CORE_SPEC_MAX_LEN} in ${describeType(target, tid)}`, target, tid);
    spec.bitOffset += m.bitOffset;
    spec.raw.push(i);
    if (m.name === "") {
      const r = matchMember(local, acc, target, m.type, spec);
      if (r !== undefined && "next" in r) return r;
      incompatible ??= r;
    } else if (m.name === acc.name) {
      const c = fieldsAreCompatible(local, lm.type, target, m.type);
      if (c === true) {
        spec.accessors.push({ typeId: tid, idx: i, name: m.name });
        return { next: m.type };
      }
      spec.bitOffset -= m.bitOffset;
      spec.raw.pop();
      return { incompatible: `field '${m.name}' of ${spell(target, tid)} has an incompatible type: ${c}` };
    }
    spec.bitOffset -= m.bitOffset;
    spec.raw.pop();
  }
  return incompatible;
}

/**
 * libbpf `bpf_core_spec_match`: the target spec of `local` in candidate type `targetId` of `target`,
 * or why the candidate does not match (`where` names the target BTF in that text, e.g. `vmlinux`).
 *
 * @throws CoreRelocationError `CORE_UNSATISFIABLE` where libbpf fails (a type without a size, nesting
 *   deeper than 64 steps, types compared more than 32 levels deep).
 */
export function matchCoreSpec(local: CoreSpec, target: CoreBtf, targetId: number, where: string): MutableCoreSpec | string {
  const spec: MutableCoreSpec = { btf: target, rootTypeId: targetId, kind: local.kind, accessors: [], raw: [], bitOffset: 0 };
  const inTarget = (id: number) => `${spell(target, id)} of ${where}`;

  if (isTypeBased(local.kind)) {
    if (local.kind === BpfCoreReloKind.TYPE_MATCHES) {
      const r = coreTypesMatch(local.btf, local.rootTypeId, target, targetId);
      return r === true ? spec : `${inTarget(targetId)} does not match: ${r}`;
    }
    const r = typesAreCompatible(asBtf(local.btf), local.rootTypeId, asBtf(target), targetId);
    if (r === true) return spec;
    if (/more than 32 levels|nested more than 32 deep/.test(r)) throw tooDeep(`comparing types: ${r}`, target, targetId);
    return `${inTarget(targetId)} is not compatible: ${r}`;
  }

  if (isEnumvalBased(local.kind)) {
    const la = local.accessors[0]!;
    const [tid, tt] = skipMods(target, targetId);
    if (!isAnyEnum(tt)) return `${inTarget(tid)} is not an enum`;
    const want = essentialName(la.name ?? "");
    const i = tt.values.findIndex((v) => essentialName(v.name) === want);
    if (i < 0) return `enumerator '${la.name}' not found in ${inTarget(tid)}`;
    spec.accessors.push({ typeId: tid, idx: i, name: tt.values[i]!.name });
    spec.raw.push(i);
    return spec;
  }

  if (!isFieldBased(local.kind)) throw coreError("CORE_BAD_SPEC", `unknown relocation kind ${local.kind}`, local.btf, local.rootTypeId);

  let tid = targetId;
  for (let i = 0; i < local.accessors.length; i++) {
    const la = local.accessors[i]!;
    let tt: BtfType;
    [tid, tt] = skipMods(target, tid);
    if (la.name !== undefined) {
      const r = matchMember(local.btf, la, target, tid, spec);
      if (r === undefined) {
        return isComposite(tt) ? `field '${la.name}' not found in ${inTarget(tid)}` : `${inTarget(tid)} has no fields (looking for '${la.name}')`;
      }
      if ("incompatible" in r) return `${r.incompatible} (in ${where})`;
      tid = r.next;
    } else {
      if (i > 0) {
        if (tt.kind !== "ARRAY") return `${inTarget(tid)} is not an array (indexing [${la.idx}])`;
        if (!isFlexArray(target, spec.accessors[i - 1], tt.nelems) && la.idx >= tt.nelems) {
          return `index ${la.idx} is out of bounds of ${inTarget(tid)}`;
        }
        [tid] = skipMods(target, tt.type);
      }
      if (spec.raw.length === CORE_SPEC_MAX_LEN) throw tooDeep(`struct/union/array nesting deeper than ${CORE_SPEC_MAX_LEN} in ${describeType(target, targetId)}`, target, targetId);
      spec.accessors.push({ typeId: tid, idx: la.idx, name: undefined });
      spec.raw.push(la.idx);
      spec.bitOffset += la.idx * sizeOf(target, tid, `candidate ${describeType(target, targetId)} of ${where}`) * 8;
    }
  }
  return spec;
}

/** libbpf `bpf_core_names_match`: an anonymous target matches only an anonymous local; else essential names. */
function namesMatch(local: string, target: string): boolean {
  if (target === "") return local === "";
  return essentialName(local) === essentialName(target);
}

/**
 * Whether local type `localId` "matches" target type `targetId` (libbpf `bpf_core_types_match`, the
 * `TYPE_MATCHES` relocation, `bpf_core_type_matches()`): stricter than compatibility.
 *
 * - Modifiers and typedefs are skipped at every step, and the names of the types reached must match
 *   (essential names; an anonymous target only matches an anonymous local type).
 * - Kinds must agree, except ENUM/ENUM64 (either way) and, behind a pointer, a STRUCT or UNION
 *   against a FWD of the same flavour (the FWD's kind_flag: 0 struct, 1 union), both ways.
 * - INT: same size and signedness. PTR: the pointees match (from then on "behind a pointer").
 *   ARRAY: same element count and matching elements. FUNC_PROTO: same parameter count, each
 *   parameter and the return type matching.
 * - STRUCT/UNION (not behind a pointer): every local member has a target member with a matching name
 *   whose type matches (so the target may have more members); behind a pointer, the name and kind are enough.
 * - ENUM/ENUM64: same size; every local enumerator has a target one of the same essential name (values are not compared).
 * - VOID only matches void; FWD matches a FWD of the same flavour; any other kind (FLOAT…) never matches.
 *
 * @returns `true`, or why not, e.g. `[5] struct foo vs [9] struct foo: member 'a': [1] int vs [2] long: INT sizes 4 vs 8`.
 * @throws CoreRelocationError `CORE_UNSATISFIABLE` past 32 levels of nesting or 32 steps (libbpf fails the load there).
 */
export function coreTypesMatch(local: CoreBtf, localId: number, target: CoreBtf, targetId: number): true | string {
  return typesMatch(local, localId, target, targetId, false, MAX_DEPTH);
}

function typesMatch(local: CoreBtf, localId: number, target: CoreBtf, targetId: number, behindPtr: boolean, level: number): true | string {
  if (level <= 0) throw tooDeep(`types nested more than ${MAX_DEPTH} levels deep`, local, localId);
  let lid = localId;
  let tid = targetId;
  for (let depth = MAX_DEPTH; ; ) {
    if (--depth < 0) throw tooDeep(`more than ${MAX_DEPTH} levels of pointers, arrays and return types`, local, localId);
    let lt: BtfType;
    let tt: BtfType;
    [lid, lt] = skipMods(local, lid);
    [tid, tt] = skipMods(target, tid);
    const pair = () => `${describeType(local, lid)} vs ${describeType(target, tid)}`;
    if (!namesMatch(lt.name, tt.name)) return `${pair()}: names differ`;
    const kinds = () => `${pair()}: ${lt.kind} vs ${tt.kind}`;
    switch (lt.kind) {
      case "VOID":
        return tt.kind === "VOID" ? true : kinds();
      case "FWD": {
        if (tt.kind === "FWD") return lt.union === tt.union ? true : `${pair()}: forward declarations of a ${lt.union ? "union" : "struct"} vs a ${tt.union ? "union" : "struct"}`;
        if (behindPtr && ((tt.kind === "STRUCT" && !lt.union) || (tt.kind === "UNION" && lt.union))) return true;
        return kinds();
      }
      case "ENUM": case "ENUM64": {
        if (!isAnyEnum(tt)) return kinds();
        if (lt.size !== tt.size) return `${pair()}: sizes ${lt.size} vs ${tt.size}`;
        if (lt.values.length > tt.values.length) return `${pair()}: ${lt.values.length} vs ${tt.values.length} enumerators`;
        for (const v of lt.values) {
          if (!tt.values.some((w) => namesMatch(v.name, w.name))) return `${pair()}: enumerator '${v.name}' not found`;
        }
        return true;
      }
      case "STRUCT": case "UNION": {
        if (behindPtr) {
          if (tt.kind === lt.kind) return true;
          if (tt.kind === "FWD" && (lt.kind === "UNION") === tt.union) return true;
          return kinds();
        }
        if (tt.kind !== lt.kind) return kinds();
        const tms = tt.members;
        if (lt.members.length > tms.length) return `${pair()}: ${lt.members.length} vs ${tms.length} members`;
        for (const lm of lt.members) {
          let why: string | undefined;
          const found = tms.some((tm) => {
            if (!namesMatch(lm.name, tm.name)) return false;
            const r = typesMatch(local, lm.type, target, tm.type, behindPtr, level - 1);
            if (r !== true) why ??= r;
            return r === true;
          });
          if (!found) return `${pair()}: member '${lm.name || "<anon>"}' ${why ? `does not match: ${why}` : "not found"}`;
        }
        return true;
      }
      case "INT": {
        if (tt.kind !== "INT") return kinds();
        if (lt.size !== tt.size) return `${pair()}: sizes ${lt.size} vs ${tt.size}`;
        const ls = (lt.encoding & BtfIntEncoding.SIGNED) !== 0;
        const ts = (tt.encoding & BtfIntEncoding.SIGNED) !== 0;
        return ls === ts ? true : `${pair()}: ${ls ? "signed" : "unsigned"} vs ${ts ? "signed" : "unsigned"}`;
      }
      case "PTR":
        if (tt.kind !== "PTR") return kinds();
        behindPtr = true;
        lid = lt.type;
        tid = tt.type;
        break;
      case "ARRAY":
        if (tt.kind !== "ARRAY") return kinds();
        if (lt.nelems !== tt.nelems) return `${pair()}: ${lt.nelems} vs ${tt.nelems} elements`;
        lid = lt.type;
        tid = tt.type;
        break;
      case "FUNC_PROTO": {
        if (tt.kind !== "FUNC_PROTO") return kinds();
        if (lt.params.length !== tt.params.length) return `${pair()}: ${lt.params.length} vs ${tt.params.length} parameters`;
        for (let i = 0; i < lt.params.length; i++) {
          const r = typesMatch(local, lt.params[i]!.type, target, tt.params[i]!.type, behindPtr, level - 1);
          if (r !== true) return `${pair()}: parameter ${i + 1}: ${r}`;
        }
        lid = lt.returnType;
        tid = tt.returnType;
        break;
      }
      default:
        return `${pair()}: libbpf does not match ${lt.kind} types`;
    }
  }
}

