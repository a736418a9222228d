import { describe, expect, test } from "vitest";
import { Btf, formatType, parseBtf } from "@x/btf";
import { localObj, readElf, sharedObj } from "./helpers.js";

describe("formatType", () => {
  const g = parseBtf(readElf(sharedObj("globals.bpf.o")).section(".BTF"));
  const k = parseBtf(readElf(localObj("kinds.bpfel.o")).section(".BTF"));
  const varType = (b: Btf, n: string) => b.type(b.find(n, "VAR")!, "VAR").type;

  test.each([
    ["cfg_limits", "const volatile struct limits"],
    ["cfg_name", "const volatile char[16]"],
    ["bss_buf", "char[32]"],
    ["cfg_mode", "const volatile enum mode"],
    ["data_counter", "__u64"],
    ["cfg_s64", "const volatile __s64"],
    ["data_array", "__s32[4]"],
    ["cfg_bool", "const volatile _Bool"],
  ])("globals %s: %s", (name, want) => {
    expect(formatType(g, varType(g, name))).toBe(want);
  });

  test("variables, functions, prototypes, pointers", () => {
    expect(formatType(g, g.find("cfg_limits", "VAR")!)).toBe("const volatile struct limits cfg_limits");
    expect(formatType(g, g.find("static_bss", "VAR")!)).toBe("static volatile __u64 static_bss");
    expect(formatType(g, g.find("mix", "FUNC")!)).toBe("static __u64 mix(__u64 a, __u64 b)");
    expect(formatType(g, g.find("read_config", "FUNC")!)).toBe("int read_config(struct __sk_buff *skb)");
    expect(formatType(g, 1)).toBe("int (*)[2]");
    expect(formatType(g, 29)).toBe("struct __sk_buff *");
    expect(formatType(g, 0)).toBe("void");
    expect(formatType(g, g.find(".rodata")!)).toBe('SEC(".rodata")');
    expect(formatType(g, varType(g, "counters"))).toBe("struct { int (*type)[2]; int (*max_entries)[4]; __u32 *key; ... }");
  });

  test("kinds: function pointers, const pointers, type tags, anonymous members", () => {
    const ops = k.type(k.find("ops")!, "STRUCT");
    expect(formatType(k, ops.members[0]!.type)).toBe("int (*)(int, char *)");
    expect(formatType(k, ops.members[1]!.type)).toBe("const char *");
    expect(formatType(k, varType(k, "user_ptr"))).toBe('__attribute__((btf_type_tag("user"))) int *');
    const anon = k.type(k.find("with_anon")!, "STRUCT");
    expect(formatType(k, anon.members[1]!.type)).toBe("union { int as_int; unsigned char as_bytes[4]; }");
    expect(formatType(k, anon.members[2]!.type)).toBe("struct { short x; short y; }");
    expect(formatType(k, k.find("flags")!)).toBe("struct flags");
    expect(formatType(k, k.find("wide")!)).toBe("enum wide");
    expect(formatType(k, k.find("bpf_sock")!)).toBe("struct bpf_sock");
    expect(formatType(k, k.find("fn_tag")!)).toBe('__attribute__((btf_decl_tag("fn_tag")))');
  });

  test("constructed: const pointer, pointer to array, array of pointers, variadic", () => {
    const b = new Btf([
      { kind: "INT", name: "int", size: 4, encoding: 1, offset: 0, bits: 32 }, // 1
      { kind: "PTR", name: "", type: 1 }, // 2
      { kind: "CONST", name: "", type: 2 }, // 3 int *const
      { kind: "ARRAY", name: "", type: 2, indexType: 1, nelems: 3 }, // 4 int *[3]
      { kind: "PTR", name: "", type: 4 }, // 5 int *(*)[3]
      { kind: "FUNC_PROTO", name: "", returnType: 0, params: [{ name: "fmt", type: 2 }, { name: "", type: 0 }] }, // 6
      { kind: "ARRAY", name: "", type: 4, indexType: 1, nelems: 2 }, // 7 int *[2][3]
    ]);
    expect(formatType(b, 3)).toBe("int *const");
    expect(formatType(b, 4)).toBe("int *[3]");
    expect(formatType(b, 5)).toBe("int *(*)[3]");
    expect(formatType(b, 6)).toBe("void (int *fmt, ...)");
    expect(formatType(b, 7)).toBe("int *[2][3]");
  });
});
