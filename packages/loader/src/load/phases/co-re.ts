/**
 * CO-RE: adjust field offsets, sizes and type facts to the running kernel's BTF. Not implemented
 * yet: a program with CO-RE relocation records is refused, never loaded with the compiler's
 * offsets (which are only right on the kernel it was compiled against).
 */
import { BpfCoreReloKind } from "@x/btf";
import { rebaseExtInfo } from "@x/reloc";
import { ObjectError } from "../../errors.js";
import type { Phase } from "../phase.js";

const KIND_NAMES = new Map(Object.entries(BpfCoreReloKind).map(([k, v]) => [v as number, k]));

export const coRe: Phase = {
  name: "CO-RE",
  run(s) {
    const core = s.spec.btfExt?.coreRelos;
    if (!core?.sections.length) return;
    const bySection = new Map(core.sections.map((sec) => [sec.section, sec.records]));
    for (const p of s.programs) {
      const [first, ...rest] = rebaseExtInfo(bySection, p.linked.segments);
      if (!first) continue;
      const kind = KIND_NAMES.get(first.kind) ?? String(first.kind);
      throw new ObjectError("OBJECT_UNSUPPORTED_CO_RE", `program '${p.spec.name}' has ${rest.length + 1} CO-RE relocation(s) (the first: ${kind} of type [${first.typeId}] access "${first.accessStr}" at insn ${first.insnOff}): CO-RE is not supported yet`, { program: p.spec.name, insnIndex: first.insnOff, btfTypeId: first.typeId });
    }
  },
};
