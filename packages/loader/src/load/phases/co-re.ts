/**
 * CO-RE (libbpf `bpf_object__relocate_core`): each program's CO-RE relocations are computed against
 * the kernel's BTF (vmlinux, then each module's, or a custom target BTF given at load) and patched
 * into a copy of its linked instructions. A relocation nothing matches poisons its instruction, as
 * libbpf does: the verifier removes it when guarded code never reaches it, and a rejection caused by
 * it is explained by the load-programs phase.
 */
import { type BtfExtCoreRelo, CoreContext, type CoreTarget, parseBtf } from "@x/btf";
import { ElfFile } from "@x/elf";
import { cloneInstructions, patchCoreInstruction, rebaseExtInfo } from "@x/reloc";
import { readFileSync } from "node:fs";
import { ObjectError } from "../../errors.js";
import type { Phase } from "../phase.js";
import type { LoadState } from "../state.js";

/** A CO-RE record with where it came from: libbpf numbers relocations within their ELF section. */
type NumberedRelo = BtfExtCoreRelo & { readonly section: string; readonly index: number };

export const coRe: Phase = {
  name: "CO-RE",
  run(s) {
    const sections = s.spec.btfExt?.coreRelos?.sections;
    if (!sections?.length || !s.programs.length) return;
    const bySection = new Map(sections.map((sec) => [sec.section, sec.records.map((r, index): NumberedRelo => ({ ...r, section: sec.section, index }))]));
    let ctx: CoreContext | undefined;
    for (const p of s.programs) {
      const relos = rebaseExtInfo(bySection, p.linked.segments);
      if (!relos.length) continue;
      ctx ??= new CoreContext(s.spec.btf!, targets(s), { littleEndian: s.spec.elf.littleEndian });
      const insns = cloneInstructions(p.linked.insns);
      for (const r of relos) {
        const site = { program: p.spec.name, section: r.section, reloIndex: r.index, insnIndex: r.insnOff };
        const result = ctx.relocate(r, site);
        const outcome = patchCoreInstruction(insns, r.insnOff, result, site);
        if (outcome.action === "poisoned") {
          (p.corePoisons ??= new Map()).set(r.insnOff, `CO-RE relocation #${r.index} (${result.kind}) of ${result.localSpec} failed: ${result.reason ?? outcome.message}`);
        }
      }
      p.code = insns;
    }
  },
};

/**
 * What relocations are computed against (libbpf `bpf_core_apply_relo`): a custom target BTF when the
 * load was given one (libbpf's `btf_custom_path`: then only it, no module), else vmlinux's BTF and,
 * when vmlinux has no candidate, each loaded module's (walked only then).
 */
function* targets(s: LoadState): Generator<CoreTarget> {
  const custom = s.settings.btf;
  if (custom !== undefined) {
    yield { name: typeof custom === "string" ? custom : "the target BTF", btf: customBtf(s, custom) };
    return;
  }
  for (const obj of s.kernel.symbols.btfObjects()) yield { name: obj.name, btf: obj.btf };
}

/** A target BTF given at load: raw BTF (`/sys/kernel/btf/vmlinux`'s format), or an ELF object's `.BTF`. */
function customBtf(s: LoadState, source: string | Uint8Array) {
  const where = typeof source === "string" ? source : "the BTF given to load";
  let bytes: Uint8Array;
  try {
    bytes = typeof source === "string" ? new Uint8Array(readFileSync(source)) : source;
  } catch (e) {
    throw new ObjectError("OBJECT_BAD_TARGET_BTF", `cannot read the target BTF ${where}: ${(e as Error).message}`, { object: s.spec.name }, { cause: e });
  }
  const isElf = bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  if (!isElf) return parseBtf(bytes);
  const sec = ElfFile.parse(bytes).section(".BTF");
  if (!sec) throw new ObjectError("OBJECT_BAD_TARGET_BTF", `the target BTF ${where} is an ELF object without a .BTF section`, { object: s.spec.name });
  return parseBtf(sec.data);
}
