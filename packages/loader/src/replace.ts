/**
 * Replacing a live program with a new version of its object: load the new one with the old one's
 * state (maps reused, globals carried over), then swap it into the link atomically. The template
 * workflow: new configuration in, new program live, nothing seen by neither or both.
 */
import type { Attachment } from "./attach.js";
import { AttachError } from "./errors.js";
import { openProgram, type LiveProgram } from "./kernel-programs.js";
import type { KernelFd } from "./load/kernel.js";
import type { LoadOptions } from "./load/index.js";
import type { LoadedObject, LoadedProgram } from "./loaded.js";
import { kernelObjectName } from "./names.js";
import type { ObjectSpec } from "./spec.js";

/** What became of one global of the old version. */
export interface CarriedGlobal {
  readonly name: string;
  readonly section: string;
  /**
   * `copied`: its value was set in the new version before load; `kept`: its section's map was reused
   * (the value is the live one); `gone`: the new version has no such variable there; `resized` /
   * `retyped`: the new one differs, and starts from its own initial value.
   */
  readonly outcome: "copied" | "kept" | "gone" | "resized" | "retyped";
  /** For `resized` / `retyped`: the old and the new C type and size. */
  readonly from?: string;
  readonly to?: string;
}

/** Options of {@link replaceProgram}: those of a load, and what to carry from the old version. */
export interface ReplaceOptions extends Omit<LoadOptions, "programs" | "reuseMaps"> {
  /** The program of the new object to attach in place of the old one. */
  readonly program: string;
  /**
   * Maps of the old version to reuse, by map name or data section (`".bss"`, `"counts"`): they keep
   * their contents. Maps pinned by name (`LIBBPF_PIN_BY_NAME`) are reused anyway, from `pinRoot`.
   */
  readonly reuseMaps?: readonly string[];
  /**
   * Copy the old version's writable globals (`.data*`, `.bss*`) into the new one before it loads, for
   * every variable of the same name, section, C type and size; the others are reported (see
   * {@link Replacement.globals}). Values that change between the copy and the swap are lost: reuse
   * the section's map instead when every update counts.
   */
  readonly keepGlobals?: boolean;
  /** The program the link must be running for the swap to happen (default: the one the link handle expects). */
  readonly expected?: KernelFd;
}

/** The outcome of {@link replaceProgram}. */
export interface Replacement {
  /** The new version, loaded: the caller owns it (the link runs its program). */
  readonly object: LoadedObject;
  /** The program now attached. */
  readonly program: LoadedProgram;
  /** Kernel ids of the program replaced and of the new one. */
  readonly previousProgramId: number;
  readonly programId: number;
  /** What became of each global of the old version (with `keepGlobals`, and for reused sections). */
  readonly globals: readonly CarriedGlobal[];
}

/** Sections whose values belong to the version, not to its state: never carried over. */
function isStateSection(section: string): boolean {
  return section === ".data" || section.startsWith(".data.") || section === ".bss" || section.startsWith(".bss.");
}

/**
 * Load `spec` as the new version of the program `link` runs, and swap it in atomically
 * (`BPF_LINK_UPDATE` with `BPF_F_REPLACE`). The old program is found through the link (it may come
 * from another process, as with a pinned link); its maps named in `reuseMaps` are reused and, with
 * `keepGlobals`, its globals copied. On any failure nothing changes: the new version is unloaded and
 * the link keeps the old program. The old version's own fds are the caller's to release.
 */
export function replaceProgram(link: Attachment, spec: ObjectSpec, options: ReplaceOptions): Replacement {
  const previousProgramId = link.runningProgramId();
  if (!previousProgramId) throw new AttachError("ATTACH_FAILED", `the ${link.kind} attachment runs no program (detached): nothing to replace`);
  using old = openProgram(previousProgramId);
  const reuseMaps = mapsToReuse(old, spec, options.reuseMaps ?? []);
  const reusedSections = new Set(Object.keys(reuseMaps).map((k) => spec.maps.find((m) => m.name === k)?.section).filter((s): s is string => !!s));
  const globals = carryGlobals(old, spec, options.keepGlobals ?? false, reusedSections);
  const { program: name, keepGlobals: _k, reuseMaps: _r, expected, ...load } = options;
  const object = spec.load({ ...load, programs: [name], reuseMaps });
  try {
    const program = object.program(name);
    link.update(program, expected ? { expected } : {});
    return { object, program, previousProgramId, programId: program.info().id, globals };
  } catch (e) {
    object.dispose();
    throw e;
  }
}

/** The old program's maps to reuse, as `LoadOptions.reuseMaps` keyed by the new spec's map names. */
function mapsToReuse(old: LiveProgram, spec: ObjectSpec, names: readonly string[]): Record<string, KernelFd> {
  const out: Record<string, KernelFd> = {};
  for (const name of names) {
    const m = spec.maps.find((x) => x.name === name || x.section === name);
    if (!m) throw new AttachError("ATTACH_INCOMPATIBLE", `the new version has no map or section '${name}' to reuse (maps: ${spec.maps.map((x) => x.section ?? x.name).join(", ")})`, { object: spec.name });
    const live = old.maps.find((x) => (m.section ? x.section === m.section : x.name === kernelObjectName(m.name)));
    if (!live) {
      throw new AttachError("ATTACH_INCOMPATIBLE", `program ${old.summary.id} (${old.summary.name}) uses no map '${name}' to reuse (its maps: ${old.maps.map((x) => x.section ?? x.name).join(", ")})`, { object: spec.name, map: m.name });
    }
    out[m.name] = live.fd;
  }
  return out;
}

/** Copy globals of the old version into the spec where name, section, type and size agree; report every one. */
function carryGlobals(old: LiveProgram, spec: ObjectSpec, copy: boolean, reused: ReadonlySet<string>): CarriedGlobal[] {
  const out: CarriedGlobal[] = [];
  for (const v of old.variables.values()) {
    if (!isStateSection(v.section)) continue;
    if (reused.has(v.section)) {
      out.push({ name: v.name, section: v.section, outcome: "kept" });
      continue;
    }
    if (!copy) continue;
    const next = spec.variables.get(v.name);
    if (!next || next.section !== v.section) {
      out.push({ name: v.name, section: v.section, outcome: "gone" });
      continue;
    }
    const from = `${v.cType} (${v.size} bytes)`, to = `${next.cType} (${next.size} bytes)`;
    if (next.size !== v.size) out.push({ name: v.name, section: v.section, outcome: "resized", from, to });
    else if (next.cType !== v.cType) out.push({ name: v.name, section: v.section, outcome: "retyped", from, to });
    else {
      next.setRaw(v.raw());
      out.push({ name: v.name, section: v.section, outcome: "copied" });
    }
  }
  return out;
}
