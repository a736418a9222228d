/**
 * BTF map definitions as libbpf's `parse_btf_map_def` reads them, on clang-19 output: every field
 * (`__uint`, `__type`, and `__ulong` for map_extra, a one-value enum that is an ENUM64 past 32
 * bits), libbpf's refusals (pinning values, conflicting sizes, unknown fields), and the arena rules
 * of `init_user_btf_maps` / `init_arena_map_data`.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openObject } from "@x/loader/open";
import { MapType } from "@x/sys/abi";

const hasClang = (() => {
  try {
    execFileSync("clang-19", ["--version"], { stdio: "ignore" });
    return existsSync("/usr/include/bpf/bpf_helpers.h");
  } catch {
    return false;
  }
})();
if (!hasClang && process.env.CI) throw new Error("map definition tests need clang-19 and libbpf-dev in CI (run bash tools/setup.sh)");
const MULTIARCH = ["/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu"].filter(existsSync).map((d) => `-I${d}`);

const dir = hasClang ? mkdtempSync(join(tmpdir(), "x-mapdefs-")) : "";
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

const PRELUDE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#ifndef __ulong
/* libbpf's, with __COUNTER__ expanded (one more level), so that several maps can use it. */
#define __xbpf_cat(a, b) ___bpf_concat(a, b)
#define __ulong(name, val) enum { __xbpf_cat(__unique_value, __COUNTER__) = val } name
#endif
#define BPF_MAP_TYPE_ARENA 33
#define __arena __attribute__((address_space(1)))
`;

let n = 0;
/** Compile `body` (after the prelude) with clang-19; the object's bytes. */
function compile(body: string): Uint8Array {
  const src = join(dir, `m${++n}.bpf.c`);
  writeFileSync(src, `${PRELUDE}${body}\nchar LICENSE[] SEC("license") = "GPL";\n`);
  try {
    execFileSync("clang-19", ["-O2", "-g", "-target", "bpf", ...MULTIARCH, "-c", src, "-o", `${src}.o`], { stdio: "pipe" });
  } catch (e) {
    throw new Error(`clang-19 failed on ${src}:\n${(e as { stderr?: Buffer }).stderr?.toString() ?? e}`);
  }
  return new Uint8Array(readFileSync(`${src}.o`));
}

describe.skipIf(!hasClang)("BTF map definitions", () => {
  it("every field libbpf accepts, map_extra as __ulong (32 and 64 bits) or __uint", () => {
    const spec = openObject(compile(`
struct key { __u32 a; __u16 b; };
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct key);
  __type(value, __u64);
  __uint(max_entries, 128);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(numa_node, 0);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} hash SEC(".maps");
struct {
  __uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
  __uint(value_size, 4);
  __uint(max_entries, 64);
  __ulong(map_extra, 3);
} bloom SEC(".maps");
struct {
  __uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
  __uint(value_size, 4);
  __uint(max_entries, 64);
  __uint(map_extra, 5);
} bloom_uint SEC(".maps");
struct {
  __uint(type, BPF_MAP_TYPE_ARENA);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, 2);
  __ulong(map_extra, 0xffffffff00000000ull);
} arena SEC(".maps");
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(key_size, 4);
  __uint(value_size, 4);
  __uint(max_entries, 1);
  __ulong(map_extra, 0);
} plain SEC(".maps");
`), { name: "defs" });
    const m = (name: string) => spec.map(name);
    expect(m("hash")).toMatchObject({ type: MapType.HASH, keySize: 8, valueSize: 8, maxEntries: 128, flags: 1, numaNode: 0, pinning: 1, mapExtra: 0n });
    expect(m("hash").btfKeyTypeId).toBeGreaterThan(0);
    expect(m("bloom")).toMatchObject({ type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, mapExtra: 3n });
    expect(m("bloom_uint").mapExtra).toBe(5n);
    expect(m("arena")).toMatchObject({ type: MapType.ARENA, maxEntries: 2, mapExtra: 0xffffffff00000000n });
    expect(m("plain").mapExtra).toBe(0n);
  });

  it.each([
    ["a pinning value other than NONE and BY_NAME", "__uint(type, BPF_MAP_TYPE_ARRAY); __uint(key_size, 4); __uint(value_size, 4); __uint(max_entries, 1); __uint(pinning, 2);", /map 'bad': invalid pinning value 2/],
    ["a key_size that is not the key type's size", "__uint(type, BPF_MAP_TYPE_HASH); __uint(key_size, 8); __type(key, __u32); __type(value, __u32); __uint(max_entries, 1);", /map 'bad': conflicting key size 8 != 4/],
    ["an unknown field", "__uint(type, BPF_MAP_TYPE_ARRAY); __uint(key_size, 4); __uint(value_size, 4); __uint(max_entries, 1); __uint(flavour, 1);", /map 'bad': unknown field 'flavour'/],
    ["a __uint field given as a type", "__uint(type, BPF_MAP_TYPE_ARRAY); __type(max_entries, int);", /map 'bad': attr 'max_entries': type \[\d+\] is INT, expected ARRAY/],
    ["no type", "__uint(max_entries, 1);", /map 'bad': no 'type' field/],
    ["values in a map that holds neither maps nor programs", "__uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __array(values, int (void *));", /map 'bad': 'values' needs a map-in-map or a program array/],
    ["a program array's values that are not functions", "__uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 2); __array(values, struct { int x; });", /map 'bad': prog-array value def is of unexpected kind STRUCT/],
    ["a map of maps with another value size", "__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 2); __uint(value_size, 8); __array(values, struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, int); __type(value, int); });", /map 'bad': conflicting value size 8 != 4/],
    ["inner maps of inner maps", "__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 2); __array(values, struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 1); __array(values, struct { __uint(type, BPF_MAP_TYPE_ARRAY); }); });", /map 'bad.inner': multi-level inner maps are not supported/],
  ])("refuses %s", (_what, fields, message) => {
    const bytes = compile(`struct { ${fields} } bad SEC(".maps");`);
    expect(() => openObject(bytes)).toThrow(expect.objectContaining({ code: "OBJECT_BAD_MAP_DEFINITION", message: expect.stringMatching(message), location: expect.objectContaining({ map: expect.stringMatching(/^bad(\.inner)?$/) }) }));
  });
});

describe.skipIf(!hasClang)("arena maps and __arena globals", () => {
  const arena = (pages: number, name = "arena") => `struct { __uint(type, BPF_MAP_TYPE_ARENA); __uint(map_flags, BPF_F_MMAPABLE); __uint(max_entries, ${pages}); } ${name} SEC(".maps");`;
  const globals = (bytes: number) => `char __arena blob[${bytes}] = { 1 }; SEC("syscall") int touch(void *ctx) { blob[0]++; return 0; }`;

  it("the arena section is the arena map's initial image, and its variables are globals like any other", () => {
    const spec = openObject(compile(`${arena(4)}\n__u64 __arena counter = 9; char __arena tag[4] = "abc";\nSEC("syscall") int f(void *ctx) { counter++; return tag[0]; }`));
    const m = spec.map("arena");
    expect(m).toMatchObject({ section: ".addr_space.1", mmapable: true });
    expect(m.image!.byteLength).toBe(12);
    expect(spec.get("counter")).toBe(9n);
    spec.set("counter", 10);
    expect(new DataView(m.image!.buffer, m.image!.byteOffset).getBigUint64(0, true)).toBe(10n);
    // The same section is what `xbpf patch` rewrites.
    expect(openObject(spec.toElf()).get("counter")).toBe(10n);
  });

  it("refuses globals larger than the arena, naming both sizes", () => {
    expect(() => openObject(compile(`${arena(1)}\n${globals(5000)}`), { name: "small" })).toThrow(
      expect.objectContaining({ code: "OBJECT_BAD_MAP_DEFINITION", message: expect.stringMatching(/ARENA map 'arena' \(1 pages of 4096 bytes: 4096 bytes\) is too small to hold the object's __arena variables \(5000 bytes, 8192 in whole pages\)/) }),
    );
    expect(() => openObject(compile(`${arena(2)}\n${globals(5000)}`))).not.toThrow();
  });

  it("refuses __arena globals without an arena map, and a second arena map", () => {
    expect(() => openObject(compile(globals(8)))).toThrow(expect.objectContaining({ message: expect.stringMatching(/sec '\.addr_space\.1': to use global __arena variables the ARENA map should be explicitly declared in SEC\("\.maps"\)/) }));
    expect(() => openObject(compile(`${arena(1)}\n${arena(1, "other")}`))).toThrow(expect.objectContaining({ message: "map 'other': only a single ARENA map is supported (map 'arena' is also ARENA)" }));
  });
});

describe.skipIf(!hasClang)("legacy maps sections", () => {
  const ELF = "struct bpf_elf_map { __u32 type, size_key, size_value, max_elem, flags, id, pinning, inner_id, inner_idx; };";
  const prog = (maps: string[]) => `SEC("socket") int p(void *ctx) { __u32 k = 0; ${maps.map((m) => `bpf_map_lookup_elem(&${m}, &k);`).join(" ")} return 0; }`;

  it("reads bpf_map_def of any size whose extra bytes are zero, and the iproute2 layouts at 36 and 28 bytes", () => {
    const wide = openObject(compile(`struct wide_def { unsigned int type, key_size, value_size, max_entries, map_flags, extra1, extra2; };
struct wide_def SEC("maps") w = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 2 };
${prog(["w"])}`));
    expect(wide.map("w")).toMatchObject({ origin: "legacy", type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 });
    const tc = openObject(compile(`${ELF}
struct bpf_elf_map SEC("maps") a = { .type = BPF_MAP_TYPE_HASH, .size_key = 4, .size_value = 4, .max_elem = 8, .pinning = 1 };
${prog(["a"])}`), { name: "objns" });
    expect(tc.map("a").pinAt).toMatch(/^tc\/[0-9a-f]{40}\/a$/);
    // iproute2's layout before inner_id and inner_idx (28 bytes), as the kernel's test_sk_assign.c has it.
    const old = openObject(compile(`struct old_elf_map { __u32 type, size_key, size_value, max_elem, flags, id, pinning; };
struct old_elf_map SEC("maps") s = { .type = BPF_MAP_TYPE_SOCKMAP, .size_key = 4, .size_value = 8, .max_elem = 1, .pinning = 2 };
${prog(["s"])}`));
    expect(old.map("s")).toMatchObject({ origin: "legacy", type: MapType.SOCKMAP, keySize: 4, valueSize: 8, maxEntries: 1, pinAt: "tc/globals/s" });
  });

  it.each([
    ["non-zero fields past bpf_map_def's five", `struct wide_def { unsigned int type, key_size, value_size, max_entries, map_flags, extra1, extra2, extra3; };
struct wide_def SEC("maps") w = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 2, .extra3 = 1 };`, ["w"], /map 'w': unknown and non-zero fields in its 32-byte bpf_map_def \(byte 28;/],
    ["iproute2's custom pinning", `${ELF}
struct bpf_elf_map SEC("maps") a = { .type = BPF_MAP_TYPE_ARRAY, .size_key = 4, .size_value = 4, .max_elem = 1, .pinning = 7 };`, ["a"], /map 'a': pinning 7 names a custom pinning of \/etc\/iproute2\/bpf_pinning/],
    ["a map of maps whose inner_id no map has", `${ELF}
struct bpf_elf_map SEC("maps") o = { .type = BPF_MAP_TYPE_ARRAY_OF_MAPS, .size_key = 4, .size_value = 4, .max_elem = 1, .inner_id = 9 };`, ["o"], /map 'o': inner map with id 9 not found/],
    ["definitions too small to hold a map", `struct tiny_def { unsigned int type, key_size; };
struct tiny_def SEC("maps") t = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4 };`, [], /section 'maps': map definitions of 8 bytes are too small/],
  ])("refuses %s", (_what, maps, used, message) => {
    const bytes = compile(`${maps}\n${prog(used)}`);
    expect(() => openObject(bytes)).toThrow(expect.objectContaining({ code: "OBJECT_BAD_MAP_DEFINITION", message: expect.stringMatching(message) }));
  });
});
