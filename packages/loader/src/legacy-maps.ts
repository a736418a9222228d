/**
 * Legacy map definitions: a `maps` section (or `maps/…`) of fixed-size structs, one per map symbol,
 * as libbpf 0.x (`struct bpf_map_def`), cilium/ebpf and iproute2 (`struct bpf_elf_map`) read them.
 * libbpf 1.x refuses the section; objects with it still exist. The layout is told from the size of
 * a definition (the section's size over its map symbols, which clang also gives as the symbols'
 * sizes): 36 bytes is iproute2's, and 28 its older form without inner_id and inner_idx (as the kernel's
 * test_sk_assign.c declares it; a 28-byte `bpf_map_def` with zero extra bytes reads the same); anything
 * else `bpf_map_def`, whose bytes past its five fields must be zero (libbpf 0.x's and cilium's rule).
 */
import { createRequire } from "node:module";
import type { Btf } from "@x/btf";
import { type ElfFile, type ElfSection, SectionType, SymbolBinding, SymbolType } from "@x/elf";
import { isLegacyMapsSection } from "@x/reloc";
import { isMapInMap, type BtfMapDefinition } from "./btf-maps.js";
import { ObjectError } from "./errors.js";

// node:crypto is required only for the rare iproute2 object-scoped pin: importing it costs every
// process that opens an object (a CLI cold start) about a tenth of its time.
const require = createRequire(import.meta.url);
const sha1Hex = (bytes: Uint8Array): string => (require("node:crypto") as typeof import("node:crypto")).createHash("sha1").update(bytes).digest("hex");

/** `struct bpf_map_def`: type, key_size, value_size, max_entries, map_flags. */
const BPF_MAP_DEF_SIZE = 20;
/** iproute2's `struct bpf_elf_map`: the five fields, then id, pinning, inner_id, inner_idx. */
const BPF_ELF_MAP_SIZE = 36;
/** iproute2's `struct bpf_elf_map` before map-in-map: the five fields, id and pinning. */
const BPF_ELF_MAP_NO_INNER_SIZE = 28;
/** iproute2's smallest accepted `struct bpf_elf_map` (type, size_key, size_value, max_elem). */
const BPF_ELF_MAP_MIN = 16;

/** iproute2's pinning values: none, per object (`tc/OBJECT-HASH/NAME`), global (`tc/globals/NAME`). */
export const IproutePinning = { NONE: 0, OBJECT_NS: 1, GLOBAL_NS: 2 } as const;

/** A legacy map definition, with what iproute2's layout adds. */
export interface LegacyMapDefinition extends BtfMapDefinition {
  /** Which struct it was read as. */
  readonly layout: "bpf_map_def" | "bpf_elf_map";
  /** The section holding it (`maps`). */
  readonly section: string;
  /** Where it is pinned under the pin root (iproute2's pinning), if it is. */
  readonly pinAt?: string;
  /** iproute2 map-in-map: this map's `id`, the `inner_id` of the map it is a template for… */
  readonly iproute?: { readonly id: number; readonly innerId: number; readonly innerIdx: number };
}

function bad(object: string, section: string, map: string | undefined, message: string): ObjectError {
  return new ObjectError("OBJECT_BAD_MAP_DEFINITION", `${map ? `map '${map}'` : `section '${section}'`}: ${message}`, { object, section, ...(map ? { map } : {}) });
}

/** The legacy definitions of `elf`'s `maps` sections, in section then offset order. */
export function legacyMapDefinitions(object: string, elf: ElfFile, btf: Btf | undefined, bytes: Uint8Array): LegacyMapDefinition[] {
  const out: LegacyMapDefinition[] = [];
  for (const sec of elf.sections) {
    if (!isLegacyMapsSection(sec.name) || sec.type !== SectionType.PROGBITS) continue;
    out.push(...sectionDefinitions(object, elf, btf, sec, bytes));
  }
  return out;
}

function sectionDefinitions(object: string, elf: ElfFile, btf: Btf | undefined, sec: ElfSection, bytes: Uint8Array): LegacyMapDefinition[] {
  // libbpf 0.x and iproute2: the GLOBAL (OBJECT or NOTYPE) symbols of the section are the maps.
  const syms = elf.symbolsIn(sec.index).filter((s) => s.binding === SymbolBinding.GLOBAL && (s.type === SymbolType.OBJECT || s.type === SymbolType.NOTYPE));
  if (!syms.length) throw bad(object, sec.name, undefined, "a legacy maps section without map symbols");
  if (sec.size % syms.length) throw bad(object, sec.name, undefined, `${syms.length} map symbols do not divide the section's ${sec.size} bytes: the map definitions are not of equal size`);
  const size = sec.size / syms.length;
  const sized = syms.find((s) => s.size !== 0 && s.size !== size);
  if (sized) throw bad(object, sec.name, sized.name, `a ${sized.size}-byte definition in a section of ${syms.length} definitions of ${size} bytes`);
  if (size < BPF_ELF_MAP_MIN || size % 4) throw bad(object, sec.name, undefined, `map definitions of ${size} bytes are too small (at least type, key, value size and max entries: ${BPF_ELF_MAP_MIN} bytes)`);
  const layout = size === BPF_ELF_MAP_SIZE || size === BPF_ELF_MAP_NO_INNER_SIZE ? "bpf_elf_map" : "bpf_map_def";
  const dv = new DataView(sec.data.buffer, sec.data.byteOffset, sec.data.byteLength);
  const le = elf.littleEndian;
  let objectHash: string | undefined;
  const byOffset = new Map(syms.map((s) => [s.value, s]));
  const defs: LegacyMapDefinition[] = [];
  for (let off = 0; off < sec.size; off += size) {
    const sym = byOffset.get(off);
    if (!sym) throw bad(object, sec.name, undefined, `no map symbol at offset ${off} (definitions are ${size} bytes)`);
    const u32 = (i: number) => (i * 4 < size ? dv.getUint32(off + i * 4, le) : 0);
    const name = sym.name;
    if (layout === "bpf_map_def") {
      for (let i = BPF_MAP_DEF_SIZE; i < size; i++) {
        if (sec.data[off + i] !== 0) throw bad(object, sec.name, name, `unknown and non-zero fields in its ${size}-byte bpf_map_def (byte ${i}; only type, key_size, value_size, max_entries and map_flags are known)`);
      }
    }
    const [type, keySize, valueSize, maxEntries, flags] = [u32(0), u32(1), u32(2), u32(3), u32(4)];
    let pinAt: string | undefined;
    let iproute: LegacyMapDefinition["iproute"];
    let pinning = 0;
    if (layout === "bpf_elf_map") {
      pinning = u32(6);
      if (pinning === IproutePinning.GLOBAL_NS) pinAt = `tc/globals/${name}`;
      else if (pinning === IproutePinning.OBJECT_NS) pinAt = `tc/${(objectHash ??= sha1Hex(bytes))}/${name}`;
      else if (pinning !== IproutePinning.NONE) throw bad(object, sec.name, name, `pinning ${pinning} names a custom pinning of /etc/iproute2/bpf_pinning, which this loader does not read (PIN_NONE 0, PIN_OBJECT_NS 1, PIN_GLOBAL_NS 2)`);
      iproute = { id: u32(5), innerId: u32(7), innerIdx: u32(8) };
    }
    const [btfKeyTypeId, btfValueTypeId] = annotatedKeyValue(btf, name, keySize, valueSize);
    defs.push({ name, layout, section: sec.name, type, keySize, valueSize, maxEntries, flags, numaNode: 0, mapExtra: 0n, pinning, btfKeyTypeId, btfValueTypeId, ...(pinAt ? { pinAt } : {}), ...(iproute ? { iproute } : {}) });
  }
  return defs;
}

/**
 * libbpf 0.x's `BPF_ANNOTATE_KV_PAIR(name, K, V)`: a `struct ____btf_map_NAME { K key; V value; }`
 * gives a legacy map its BTF key and value types, when their sizes are the map's.
 */
function annotatedKeyValue(btf: Btf | undefined, name: string, keySize: number, valueSize: number): [number, number] {
  const id = btf?.idsByName(`____btf_map_${name}`).find((i) => btf.type(i).kind === "STRUCT");
  if (!btf || id === undefined) return [0, 0];
  const t = btf.type(id, "STRUCT");
  const key = t.members.find((m) => m.name === "key");
  const value = t.members.find((m) => m.name === "value");
  if (!key || !value || btf.sizeof(key.type) !== keySize || btf.sizeof(value.type) !== valueSize) return [0, 0];
  return [key.type, value.type];
}

/**
 * iproute2's map-in-map: each map of maps with an `inner_id` is created from the map whose `id` it
 * is (the template), and each map with an `id` and an `inner_idx` other than -1 goes into slot
 * `inner_idx` of every map of maps whose `inner_id` is its `id`.
 */
export function iprouteMapInMap(object: string, defs: readonly LegacyMapDefinition[]): Map<string, { inner: BtfMapDefinition; slots: Map<number, string> }> {
  const out = new Map<string, { inner: BtfMapDefinition; slots: Map<number, string> }>();
  for (const outer of defs) {
    if (!outer.iproute || !isMapInMap(outer.type)) continue;
    const { innerId } = outer.iproute;
    if (!innerId) throw bad(object, outer.section, outer.name, "a map of maps without an inner_id (the id of the map its inner maps look like)");
    const template = defs.find((d) => d.iproute?.id === innerId && !isMapInMap(d.type));
    if (!template) throw bad(object, outer.section, outer.name, `inner map with id ${innerId} not found`);
    const slots = new Map<number, string>();
    for (const d of defs) {
      if (d.iproute?.id === innerId && d.iproute.innerId === 0 && d.iproute.innerIdx !== 0xffffffff) slots.set(d.iproute.innerIdx, d.name);
    }
    out.set(outer.name, { inner: template, slots });
  }
  return out;
}
