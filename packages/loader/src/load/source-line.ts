/** The C source line an instruction of a linked program came from, by the object's line_info. */
import type { BtfExtLineInfo } from "@x/btf";
import { rebaseExtInfo } from "@x/reloc";
import type { ProgramState } from "./state.js";
import type { ObjectSpec } from "../spec.js";

/**
 * `file.c:LINE: text` for instruction `insn` of `p` (the last line_info record at or before it, as the
 * verifier attributes instructions), or undefined when the object has no line info for it. Used to
 * explain a rejection without depending on which kernels print the source line in their log.
 */
export function sourceLineOf(spec: ObjectSpec, p: ProgramState, insn: number): string | undefined {
  const sections = spec.btfExt?.lineInfo.sections;
  if (!sections?.length) return undefined;
  const lines = rebaseExtInfo(new Map(sections.map((sec) => [sec.section, sec.records])), p.linked.segments) as BtfExtLineInfo[];
  let best: BtfExtLineInfo | undefined;
  for (const l of lines) if (l.insnOff <= insn) best = l;
  if (!best) return undefined;
  const file = best.fileName.slice(best.fileName.lastIndexOf("/") + 1);
  return `${file}:${best.lineNumber}: ${best.line.trim()}`;
}
