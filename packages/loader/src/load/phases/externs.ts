/**
 * Resolve externs (`__kconfig`, `__ksym`, kfuncs). Not implemented yet: a program that uses one is
 * refused with the extern's name rather than loaded with an unpatched reference.
 */
import { ObjectError } from "../../errors.js";
import type { Phase } from "../phase.js";

export const externs: Phase = {
  name: "resolve externs",
  run(s) {
    for (const p of s.programs) {
      const ext = p.linked.relocations.find((r) => r.kind === "extern-ld64" || r.kind === "extern-call");
      if (ext) {
        throw new ObjectError("OBJECT_UNSUPPORTED_EXTERN", `program '${p.spec.name}' uses extern '${ext.externName ?? ext.symbol}': kconfig/ksym/kfunc externs are not supported yet`, { program: p.spec.name, symbol: ext.externName ?? ext.symbol, insnIndex: ext.insnIndex });
      }
    }
  },
};
