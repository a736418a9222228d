/**
 * The load, as an ordered list of named phases over one {@link LoadState} (libbpf's
 * `bpf_object_load` is the same list of steps). A capability that needs a step at load time adds
 * a module under `phases/` and one line here.
 */
import type { Phase } from "./phase.js";
import { bindMaps } from "./phases/bind-maps.js";
import { loadBtf } from "./phases/btf.js";
import { checkObject } from "./phases/check-object.js";
import { coRe } from "./phases/co-re.js";
import { createMaps } from "./phases/create-maps.js";
import { externs } from "./phases/externs.js";
import { fillMapSlots, fillProgramSlots } from "./phases/fill-slots.js";
import { freezeMaps } from "./phases/freeze-maps.js";
import { loadPrograms } from "./phases/load-programs.js";
import { mapArena } from "./phases/map-arena.js";
import { mapMemory } from "./phases/map-memory.js";
import { probe } from "./phases/probe.js";
import { relocate } from "./phases/relocate.js";
import { fillStructOps, structOps } from "./phases/struct-ops.js";
import { writeData } from "./phases/write-data.js";

/** Every phase of a load, in order. */
export const LOAD_PHASES: readonly Phase[] = [
  checkObject, // byte order, programs to load, their linked code
  probe, // the kernel features the rest decides on; stops on a missing one the object needs
  externs, // kconfig, ksyms, kfuncs
  coRe, // CO-RE relocations against the kernel's BTF
  structOps, // struct_ops maps' structs in the kernel's layout; their programs' attach BTF ids
  loadBtf, // sanitised for this kernel
  createMaps, // BTF key/value types, flags, pins
  mapArena, // the arena mapped at its address, with the __arena globals copied in
  writeData, // initial images of data sections
  fillMapSlots, // maps of maps: their inner maps
  freezeMaps, // .rodata* before any program loads
  relocate, // map fds into ld_imm64s, func/line info
  loadPrograms,
  fillProgramSlots, // program arrays: their programs
  fillStructOps, // struct_ops values: their programs' fds (registered by register())
  bindMaps, // .rodata* tied to each program
  mapMemory, // data sections mmap'd for live variables
];
