/**
 * Type compatibility between two BTFs as libbpf decides it for externs: `__bpf_core_types_are_compat`
 * (relo_core.c), which `bpf_object__resolve_ksym_var_btf_id` and `…_func_btf_id` (libbpf.c) use to
 * accept a typed `__ksym` variable or a kfunc prototype against the kernel's BTF (vmlinux's or a
 * module's split BTF), and which CO-RE uses for its candidate types.
 *
 * @packageDocumentation
 */
import type { Btf } from "./btf.js";
import { formatType } from "./format.js";
import type { BtfType } from "./types.js";

/** libbpf's bound, both on the steps of one comparison and on the nesting of prototypes in parameters. */
const MAX_DEPTH = 32;

/**
 * Whether type `localId` of `local` (the object's BTF) is compatible with type `targetId` of
 * `target` (the kernel's, possibly split), by libbpf's rules:
 *
 * - the two types' kinds must agree, first as given (libbpf's callers pass ids with modifiers and
 *   typedefs already skipped), then after skipping CONST, VOLATILE, RESTRICT, TYPE_TAG and TYPEDEF
 *   on both sides, at every step; ENUM and ENUM64 count as one kind;
 * - names are not compared (libbpf's callers match names first), and neither are sizes: STRUCT,
 *   UNION, FWD, ENUM/ENUM64 and void are compatible with any type of their kind; any two INTs are,
 *   unless either has a bit offset (the deprecated bitfield-like INT encoding);
 * - PTR and ARRAY compare what they point at / hold (not the element count);
 * - FUNC_PROTO: the same number of parameters, each compatible, then the return types;
 * - any other kind (FUNC, VAR, DATASEC, FLOAT, DECL_TAG) is incompatible;
 * - more than 32 steps, or prototypes nested more than 32 deep, are incompatible.
 *
 * @returns `true`, or why not: both types (ids and C spelling), where they part and how, e.g.
 *   `[5] struct task_struct *(struct task_struct *) vs [65894] struct task_struct *(struct task_struct *, int): 1 vs 2 parameters`.
 * @throws BtfError `BTF_BAD_TYPE_ID` for an id outside either table, `BTF_LOOP` for a modifier loop.
 */
export function typesAreCompatible(local: Btf, localId: number, target: Btf, targetId: number): true | string {
  return compat(local, localId, target, targetId, MAX_DEPTH);
}

function compat(local: Btf, localId: number, target: Btf, targetId: number, level: number): true | string {
  const top = () => `${describe(local, localId)} vs ${describe(target, targetId)}`;
  let lt = local.type(localId);
  let tt = target.type(targetId);
  if (!kindsCompatible(lt, tt)) return `${top()}: ${lt.kind} vs ${tt.kind}`;
  /** How the current pair was reached from the top pair: "pointee", "element", "return type". */
  const path: string[] = [];
  let lid = localId;
  let tid = targetId;
  const fail = (why: string) => (path.length ? `${top()}: ${path.join(" → ")}: ${describe(local, lid)} vs ${describe(target, tid)}: ${why}` : `${top()}: ${why}`);
  for (let depth = MAX_DEPTH; ; ) {
    if (--depth < 0) return fail(`more than ${MAX_DEPTH} levels of pointers, arrays and return types`);
    lid = local.resolve(lid);
    tid = target.resolve(tid);
    lt = local.type(lid);
    tt = target.type(tid);
    if (!kindsCompatible(lt, tt)) return fail(`${lt.kind} vs ${tt.kind}`);
    switch (lt.kind) {
      case "VOID": case "STRUCT": case "UNION": case "ENUM": case "FWD": case "ENUM64":
        return true;
      case "INT": {
        const to = (tt as typeof lt).offset;
        if (lt.offset === 0 && to === 0) return true;
        return fail(`an INT with a bit offset (${lt.offset !== 0 ? `${lt.offset} in the first` : `${to} in the second`}) is a bitfield, never compatible`);
      }
      case "PTR":
        lid = lt.type;
        tid = (tt as typeof lt).type;
        path.push("pointee");
        break;
      case "ARRAY":
        lid = lt.type;
        tid = (tt as typeof lt).type;
        path.push("element");
        break;
      case "FUNC_PROTO": {
        const tp = (tt as typeof lt).params;
        if (lt.params.length !== tp.length) return fail(`${lt.params.length} vs ${tp.length} parameter${tp.length === 1 ? "" : "s"}`);
        for (let i = 0; i < lt.params.length; i++) {
          if (level <= 0) return fail(`prototypes nested more than ${MAX_DEPTH} deep`);
          const p = lt.params[i]!;
          const r = compat(local, local.resolve(p.type), target, target.resolve(tp[i]!.type), level - 1);
          if (r !== true) return fail(`parameter ${i + 1}${p.name ? ` '${p.name}'` : tp[i]!.name ? ` '${tp[i]!.name}'` : ""}: ${r}`);
        }
        lid = lt.returnType;
        tid = (tt as typeof lt).returnType;
        path.push("return type");
        break;
      }
      default:
        return fail(`libbpf does not compare ${lt.kind} types`);
    }
  }
}

/** libbpf `btf_kind_core_compat`: the same kind, or both an ENUM/ENUM64. */
function kindsCompatible(a: BtfType, b: BtfType): boolean {
  return a.kind === b.kind || ((a.kind === "ENUM" || a.kind === "ENUM64") && (b.kind === "ENUM" || b.kind === "ENUM64"));
}

/** `[id] C spelling`, falling back to the kind and name when the type cannot be spelled (a loop). */
function describe(btf: Btf, id: number): string {
  let spelled: string;
  try {
    spelled = formatType(btf, id);
  } catch {
    const t = btf.type(id);
    spelled = `${t.kind}${t.name ? ` '${t.name}'` : ""}`;
  }
  return `[${id}] ${spelled}`;
}
