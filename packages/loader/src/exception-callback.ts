/**
 * Exception callbacks: `__exception_cb(fn)` tags a program's FUNC with `exception_callback:fn`, naming
 * the global subprogram the kernel runs when the program calls `bpf_throw()`. Nothing calls it, so the
 * loader appends it to the program (libbpf `bpf_prog_assign_exc_cb`, with the same rules). Pure.
 */
import type { Btf } from "@x/btf";
import type { ProgramSymbol } from "@x/reloc";
import { ObjectError } from "./errors.js";

const TAG = "exception_callback:";

/** Whether any FUNC of `btf` names an exception callback (most objects: no, and nothing else is done). */
export function hasExceptionCallbacks(btf: Btf | undefined): boolean {
  return !!btf?.types.some((t) => t.kind === "DECL_TAG" && t.componentIdx === -1 && t.name.startsWith(TAG));
}

/**
 * The exception callback of `program`, by its FUNC's `exception_callback:` tag; undefined when it has
 * none, or more than one (the verifier then refuses the program, as with libbpf).
 *
 * @throws `ObjectError` for a tag on anything but a global FUNC, an empty name, a callback that is not
 *   a global, non-hidden subprogram, or one that does not exist.
 */
export function exceptionCallbackOf(btf: Btf, program: string, functions: readonly ProgramSymbol[], object: string): string | undefined {
  let found: string | undefined;
  for (const t of btf.types) {
    if (t.kind !== "DECL_TAG" || t.componentIdx !== -1 || !t.name.startsWith(TAG)) continue;
    const target = btf.type(t.type);
    if (target.kind !== "FUNC" || target.linkage !== "global") {
      throw new ObjectError("OBJECT_UNSUPPORTED_PROGRAM", `prog '${program}': exception_callback:<value> decl tag not applied to the main program`, { object, program });
    }
    if (target.name !== program) continue;
    // Two callbacks for one program: the verifier says so; nothing is appended.
    if (found !== undefined) return undefined;
    const name = t.name.slice(TAG.length);
    if (!name) throw new ObjectError("OBJECT_UNSUPPORTED_PROGRAM", `prog '${program}': exception_callback:<value> decl tag contains empty value`, { object, program });
    const subs = functions.filter((f) => f.isSubprog && f.name === name);
    if (!subs.length) throw new ObjectError("OBJECT_UNSUPPORTED_PROGRAM", `prog '${program}': cannot find exception callback '${name}'`, { object, program });
    if (subs.length > 1) throw new ObjectError("OBJECT_UNSUPPORTED_PROGRAM", `prog '${program}': multiple subprogs with same name as exception callback '${name}'`, { object, program });
    // The verifier expects a global function; a hidden one's FUNC is made static.
    if (!subs[0]!.global || subs[0]!.hidden) {
      throw new ObjectError("OBJECT_UNSUPPORTED_PROGRAM", `prog '${program}': exception callback ${name} must be a global non-hidden function`, { object, program });
    }
    found = name;
  }
  return found;
}
