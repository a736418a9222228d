/** Check object: what this kernel can run at all, which programs to load, and their linked code. */
import { HOST_LITTLE_ENDIAN } from "@x/elf/layout";
import { ProgType } from "@x/sys/abi";
import { ObjectError } from "../../errors.js";
import { exceptionCallbackOf, hasExceptionCallbacks } from "../../exception-callback.js";
import type { ObjectSpec, ProgramSpec } from "../../spec.js";
import type { Phase } from "../phase.js";
import type { LoadSettings } from "../state.js";

export const checkObject: Phase = {
  name: "check object",
  run(s) {
    requireHostByteOrder(s.spec);
    // libbpf appends exception callbacks only where the kernel takes decl tags (older ones have no
    // exceptions, and refuse code nothing reaches): probed here, for the few objects that have them.
    const btf = hasExceptionCallbacks(s.spec.btf) && s.features.probe("btf") && s.features.probe("btf_decl_tag") ? s.spec.btf : undefined;
    s.programs = selectPrograms(s.spec, s.settings.programs, s.settings.programOptions).map((spec) => {
      const cb = btf && exceptionCallbackOf(btf, spec.name, s.spec.functions, s.spec.name);
      return { spec, linked: s.spec.linked(spec.name, cb) };
    });
  },
};

/** Objects of the other byte order can be opened, inspected and patched, but the kernel only runs its own (libbpf too). */
function requireHostByteOrder(spec: ObjectSpec): void {
  if (spec.elf.littleEndian === HOST_LITTLE_ENDIAN) return;
  const order = (le: boolean) => (le ? "little-endian (bpfel)" : "big-endian (bpfeb)");
  throw new ObjectError("OBJECT_WRONG_BYTE_ORDER", `${spec.name} is ${order(spec.elf.littleEndian)}, but this kernel is ${order(HOST_LITTLE_ENDIAN)}: compile it with -target bpf (or bpfel) to load it here`, { object: spec.name });
}

/**
 * The programs to load: those asked for, else those autoloaded. A struct_ops program follows its
 * maps either way: loaded when a struct_ops map that is created points to it, and not when none does
 * (libbpf `bpf_object_adjust_struct_ops_autoload` overrides autoload alike); one no map points to
 * cannot be loaded at all.
 */
function selectPrograms(spec: ObjectSpec, names: readonly string[] | undefined, options: LoadSettings["programOptions"]): ProgramSpec[] {
  const used = new Map<string, boolean>();
  for (const m of spec.maps) {
    for (const prog of m.structOps?.programs.values() ?? []) used.set(prog, (used.get(prog) ?? false) || m.autocreate !== false);
  }
  const autoload = (p: ProgramSpec) => used.get(p.name) ?? p.autoload;
  for (const n of names ?? []) spec.program(n);
  const chosen = spec.programs.filter(names ? (p) => used.get(p.name) ?? names.includes(p.name) : autoload);
  for (const p of chosen) {
    if (p.kind?.progType === ProgType.STRUCT_OPS && !used.has(p.name)) {
      throw new ObjectError("OBJECT_UNSUPPORTED_PROGRAM", `prog '${p.name}': SEC("struct_ops") program isn't referenced anywhere, did you forget to use it?`, { program: p.name, section: p.section });
    }
    if (!p.kind) throw new ObjectError("OBJECT_UNSUPPORTED_PROGRAM", `program '${p.name}': section '${p.section}' names no known program type`, { program: p.name, section: p.section });
    if (p.kind.progType === ProgType.EXT && !options[p.name]?.attachTarget) {
      throw new ObjectError("OBJECT_BAD_ATTACH_TARGET", `program '${p.name}' (${p.section}) replaces a function of another BPF program: give that program as its attachTarget (load({ programOptions: { ${p.name}: { attachTarget: { program: ID | PINNED_PATH | FD } } } }), xbpf load --attach-target ${p.name}=ID|PATH)`, { object: spec.name, program: p.name, section: p.section });
    }
  }
  return chosen;
}
