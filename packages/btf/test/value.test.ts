import { describe, expect, test } from "vitest";
import { BtfError, datasecSourceFromElf, decodeValue, encodeValue, fixupDatasecs, parseBtf, parseValue, variables, type BtfValue } from "@x/btf";
import { localObj, readElf, sharedObj } from "./helpers.js";

function load(path: string) {
  const elf = readElf(path);
  const btf = parseBtf(elf.section(".BTF"));
  fixupDatasecs(btf, datasecSourceFromElf(elf));
  const vars = variables(btf);
  const bytesOf = (name: string) => {
    const v = vars.find((x) => x.name === name)!;
    const sec = elf.sections.find((s) => s.name === v.section)!;
    const data = sec.type === 8 ? new Uint8Array(sec.size) : sec.data;
    return data.slice(v.offset, v.offset + v.size);
  };
  const varId = (name: string) => vars.find((x) => x.name === name)!.varId;
  return { elf, btf, vars, bytesOf, varId };
}

const GLOBALS: Record<string, BtfValue> = {
  cfg_u8: 200, cfg_s16: -1234, cfg_u32: 0xdeadbeef, cfg_s64: -5000000000n, cfg_u64: 0xfedcba9876543210n,
  cfg_bool: true, cfg_mode: "MODE_AUTO", cfg_name: "globals",
  cfg_limits: { kind: 2, rate: 1000, burst: 64, window: 1000000n }, cfg_zero: 0,
  "strings.____fmt": "len=%d mode=%d",
  data_counter: 42n, data_array: [1, -2, 3, -4], data_limits: { kind: 1, rate: 7, burst: 8, window: 9n },
  bss_hits: 0n, bss_last_len: 0, bss_buf: "", static_bss: 0n,
  custom_data: 11, custom_ro: 22, LICENSE: "GPL",
};

describe("decode/encode every variable of globals.bpf.o", () => {
  for (const [file, le] of [[sharedObj("globals.bpf.o"), true], [localObj("globals.bpfeb.o"), false]] as const) {
    const g = load(file);
    for (const v of g.vars) {
      if (v.section === ".maps") continue;
      test(`${le ? "LE" : "BE"} ${v.section} ${v.name}`, () => {
        const bytes = g.bytesOf(v.name);
        const value = decodeValue(g.btf, v.varId, bytes);
        expect(value).toEqual(GLOBALS[v.name]);
        // Round trip into fresh zeroed bytes reproduces the initial image (padding is zero there too).
        const out = new Uint8Array(bytes.length);
        encodeValue(g.btf, v.varId, value, out);
        expect(out).toEqual(bytes);
        // Via the VAR's type id too.
        expect(decodeValue(g.btf, v.typeId, bytes)).toEqual(value);
      });
    }
  }

  test("a whole DATASEC decodes to an object by variable name", () => {
    const g = load(sharedObj("globals.bpf.o"));
    const id = g.btf.find(".data", "DATASEC")!;
    const sec = g.elf.section(".data");
    expect(decodeValue(g.btf, id, sec)).toEqual({ data_counter: 42n, data_array: [1, -2, 3, -4], data_limits: GLOBALS.data_limits });
    const out = new Uint8Array(sec.length);
    encodeValue(g.btf, id, { data_counter: 43n, data_array: [5] }, out);
    expect(decodeValue(g.btf, id, out)).toEqual({ data_counter: 43n, data_array: [5, 0, 0, 0], data_limits: { kind: 0, rate: 0, burst: 0, window: 0n } });
  });
});

describe("kinds.bpf.c: bitfields, signed enums, ENUM64, floats, unions, anonymous members", () => {
  for (const [file, le] of [[localObj("kinds.bpfel.o"), true], [localObj("kinds.bpfeb.o"), false]] as const) {
    const k = load(file);
    const expected: Record<string, BtfValue> = {
      cfg_flags: { a: 5, b: -3, c: 0x123456789an, s: "NEG", tail: 9 },
      cfg_sign: "NEG",
      cfg_wide: "WIDE_BIG",
      cfg_anon: { head: 1, as_int: 0x01020304, as_bytes: le ? [4, 3, 2, 1] : [1, 2, 3, 4], point: { x: -1, y: 2 }, ratio: 1.5, precise: -2.25 },
      cfg_number: { i: 7, f: new Float32Array(new Int32Array([7]).buffer)[0]! },
    };
    for (const [name, value] of Object.entries(expected)) {
      test(`${le ? "LE" : "BE"} ${name}`, () => {
        const bytes = k.bytesOf(name);
        expect(decodeValue(k.btf, k.varId(name), bytes)).toEqual(value);
        const out = new Uint8Array(bytes.length);
        encodeValue(k.btf, k.varId(name), value, out);
        expect(out).toEqual(bytes);
      });
    }
    test(`${le ? "LE" : "BE"} bitfield writes leave neighbours alone`, () => {
      const bytes = k.bytesOf("cfg_flags");
      encodeValue(k.btf, k.varId("cfg_flags"), { b: 15, s: "POS" }, bytes);
      expect(decodeValue(k.btf, k.varId("cfg_flags"), bytes)).toEqual({ a: 5, b: 15, c: 0x123456789an, s: "POS", tail: 9 });
      encodeValue(k.btf, k.varId("cfg_flags"), { c: (1n << 40n) - 1n, b: -16 }, bytes);
      expect(decodeValue(k.btf, k.varId("cfg_flags"), bytes)).toEqual({ a: 5, b: -16, c: (1n << 40n) - 1n, s: "POS", tail: 9 });
    });
  }

  test("enum values without a name decode to numbers; numbers are accepted", () => {
    const k = load(localObj("kinds.bpfel.o"));
    const b = new Uint8Array(8);
    encodeValue(k.btf, k.varId("cfg_sign"), 5, b);
    expect(decodeValue(k.btf, k.varId("cfg_sign"), b)).toBe(5);
    encodeValue(k.btf, k.varId("cfg_sign"), -2, b);
    expect(decodeValue(k.btf, k.varId("cfg_sign"), b)).toBe("NEG");
    encodeValue(k.btf, k.varId("cfg_wide"), 77n, b);
    expect(decodeValue(k.btf, k.varId("cfg_wide"), b)).toBe(77n);
  });
});

describe("encode semantics and errors", () => {
  const g = load(sharedObj("globals.bpf.o"));
  const enc = (name: string, value: BtfValue, into?: Uint8Array) => {
    const out = into ?? new Uint8Array(g.btf.sizeof(g.varId(name)));
    encodeValue(g.btf, g.varId(name), value, out);
    return out;
  };
  const fails = (name: string, value: BtfValue) => {
    try { enc(name, value); } catch (e) { return e as BtfError; }
    throw new Error(`encoding ${String(value)} into ${name} did not fail`);
  };

  test("missing struct fields keep their bytes", () => {
    const bytes = g.bytesOf("cfg_limits");
    enc("cfg_limits", { rate: 5 }, bytes);
    expect(decodeValue(g.btf, g.varId("cfg_limits"), bytes)).toEqual({ kind: 2, rate: 5, burst: 64, window: 1000000n });
  });

  test("char arrays are NUL-padded and length-checked", () => {
    const bytes = g.bytesOf("cfg_name");
    enc("cfg_name", "abc", bytes);
    expect([...bytes]).toEqual([97, 98, 99, ...new Array(13).fill(0)]);
    enc("cfg_name", "x".repeat(16), bytes);
    expect(decodeValue(g.btf, g.varId("cfg_name"), bytes)).toBe("x".repeat(16));
    const e = fails("cfg_name", "x".repeat(17));
    expect(e).toMatchObject({ code: "BTF_VALUE_RANGE" });
    expect(e.message).toBe("cfg_name: string of 17 bytes does not fit char[16] (at most 16 bytes)");
  });

  test("numbers and bigints are both accepted for 64-bit ints", () => {
    expect(decodeValue(g.btf, g.varId("cfg_u64"), enc("cfg_u64", 5))).toBe(5n);
    expect(decodeValue(g.btf, g.varId("cfg_u32"), enc("cfg_u32", 7n))).toBe(7);
    expect(decodeValue(g.btf, g.varId("cfg_bool"), enc("cfg_bool", 0))).toBe(false);
  });

  test("out-of-range values name the path and the allowed range", () => {
    const e = fails("cfg_limits", { rate: 4294967296 });
    expect(e).toBeInstanceOf(BtfError);
    expect(e.code).toBe("BTF_VALUE_RANGE");
    expect(e.message).toBe("cfg_limits.rate: 4294967296 is out of range for u32 (0..4294967295)");
    expect(fails("cfg_u8", 256).message).toBe("cfg_u8: 256 is out of range for u8 (0..255)");
    expect(fails("cfg_u8", -1).code).toBe("BTF_VALUE_RANGE");
    expect(fails("cfg_s16", 40000).message).toBe("cfg_s16: 40000 is out of range for s16 (-32768..32767)");
    expect(fails("cfg_s64", 1n << 63n).message).toBe("cfg_s64: 9223372036854775808 is out of range for s64 (-9223372036854775808..9223372036854775807)");
    expect(fails("data_array", [1, 2, 3, 4, 5]).message).toBe("data_array: array of 5 elements does not fit 4 elements");
    expect(fails("data_array", [1, 2, 2 ** 31]).message).toBe("data_array[2]: 2147483648 is out of range for s32 (-2147483648..2147483647)");
    expect(fails("cfg_mode", 2 ** 32).code).toBe("BTF_VALUE_RANGE");
    const k = load(localObj("kinds.bpfel.o"));
    const kf = (v: BtfValue) => { try { encodeValue(k.btf, k.varId("cfg_flags"), v, new Uint8Array(8)); } catch (e) { return e as BtfError; } throw new Error("no error"); };
    expect(kf({ a: 8 }).message).toBe("cfg_flags.a: 8 is out of range for 3-bit unsigned bitfield (0..7)");
    expect(kf({ b: -17 }).message).toBe("cfg_flags.b: -17 is out of range for 5-bit signed bitfield (-16..15)");
  });

  test("wrong shapes are BTF_BAD_VALUE", () => {
    expect(fails("cfg_limits", { rate: 1, bogus: 2 })).toMatchObject({ code: "BTF_BAD_VALUE", message: "cfg_limits: struct limits has no field 'bogus' (fields: kind, rate, burst, window)" });
    expect(fails("cfg_mode", "MODE_BOGUS").message).toBe('cfg_mode: "MODE_BOGUS" is not an enumerator of enum mode (MODE_OFF, MODE_ON, MODE_AUTO)');
    expect(fails("cfg_bool", "yes").code).toBe("BTF_BAD_VALUE");
    expect(fails("cfg_u32", 1.5).code).toBe("BTF_BAD_VALUE");
    expect(fails("cfg_u32", "12").code).toBe("BTF_BAD_VALUE");
    expect(fails("cfg_limits", [1]).code).toBe("BTF_BAD_VALUE");
    expect(fails("data_array", 3).code).toBe("BTF_BAD_VALUE");
  });

  test("pointers are their raw 64-bit value; functions are refused", () => {
    // A .maps definition is a struct of pointers (`__uint(type, N)` is `int (*type)[N]`).
    const bytes = new Uint8Array(32);
    encodeValue(g.btf, g.varId("counters"), { type: 0x1234n }, bytes);
    expect(decodeValue(g.btf, g.varId("counters"), bytes)).toMatchObject({ type: 0x1234n, key: 0n });
    expect(fails("counters", { type: -1 })).toMatchObject({ code: "BTF_VALUE_RANGE", location: { btfKind: "PTR" } });
    expect(fails("counters", { type: "x" }).message).toMatch(/^counters\.type: expected a number for a pointer/);
    expect(() => decodeValue(g.btf, g.btf.find("mix", "FUNC")!, new Uint8Array(8))).toThrow(expect.objectContaining({ code: "BTF_NO_SIZE" }));
    expect(decodeValue(g.btf, 1, new Uint8Array(8).fill(0xff))).toBe(0xffffffffffffffffn);
  });

  test("short buffers are refused", () => {
    expect(() => decodeValue(g.btf, g.varId("cfg_limits"), new Uint8Array(23))).toThrow(expect.objectContaining({ code: "BTF_TRUNCATED" }));
    expect(() => encodeValue(g.btf, g.varId("cfg_limits"), {}, new Uint8Array(3))).toThrow(expect.objectContaining({ code: "BTF_TRUNCATED" }));
  });

  test("encode writes exactly sizeof bytes", () => {
    const out = new Uint8Array(8).fill(0xaa);
    encodeValue(g.btf, g.varId("cfg_u32"), 0, out);
    expect([...out]).toEqual([0, 0, 0, 0, 0xaa, 0xaa, 0xaa, 0xaa]);
  });
});

describe("parseValue (command-line text)", () => {
  const g = load(sharedObj("globals.bpf.o"));
  const p = (name: string, text: string) => parseValue(g.btf, g.varId(name), text);
  const perr = (name: string, text: string) => { try { p(name, text); } catch (e) { return e as BtfError; } throw new Error("no error"); };

  test("integers", () => {
    expect(p("cfg_u8", "0xff")).toBe(255);
    expect(p("cfg_u8", "17")).toBe(17);
    expect(p("cfg_s16", "-0x10")).toBe(-16);
    expect(p("cfg_u32", "0b101")).toBe(5);
    expect(p("cfg_u32", "1_000")).toBe(1000);
    expect(p("cfg_s64", "-5000000000")).toBe(-5000000000n);
    expect(p("cfg_u64", "0xfedcba9876543210")).toBe(0xfedcba9876543210n);
    expect(p("cfg_u64", "3")).toBe(3n);
    expect(perr("cfg_u8", "-1")).toMatchObject({ code: "BTF_VALUE_RANGE", message: "cfg_u8: -1 is out of range for u8 (0..255)" });
    expect(perr("cfg_u32", "12abc").code).toBe("BTF_BAD_VALUE");
    expect(perr("cfg_u32", "").code).toBe("BTF_BAD_VALUE");
    expect(perr("cfg_u32", "0x").code).toBe("BTF_BAD_VALUE");
  });

  test("bool, enums, char arrays", () => {
    expect(p("cfg_bool", "true")).toBe(true);
    expect(p("cfg_bool", "false")).toBe(false);
    expect(perr("cfg_bool", "maybe").code).toBe("BTF_BAD_VALUE");
    expect(p("cfg_mode", "MODE_ON")).toBe("MODE_ON");
    expect(p("cfg_mode", "7")).toBe(7);
    expect(perr("cfg_mode", "MODE_X").message).toContain("MODE_OFF, MODE_ON, MODE_AUTO");
    expect(p("cfg_name", "hello world")).toBe("hello world");
    expect(p("cfg_name", "")).toBe("");
    expect(perr("cfg_name", "a".repeat(17)).code).toBe("BTF_VALUE_RANGE");
  });

  test("JSON for arrays and structs, with exact 64-bit integers and hex strings", () => {
    expect(p("cfg_limits", '{"kind": 1, "rate": "0x10", "window": 18446744073709551615}')).toEqual({ kind: 1, rate: 16, window: 18446744073709551615n });
    expect(p("data_array", "[1, -2, 3]")).toEqual([1, -2, 3]);
    expect(p("data_limits", '{"window": 5}')).toEqual({ window: 5n });
    expect(perr("cfg_limits", '{"rate": 4294967296}').message).toBe("cfg_limits.rate: 4294967296 is out of range for u32 (0..4294967295)");
    expect(perr("cfg_limits", '{"nope": 1}').code).toBe("BTF_BAD_VALUE");
    expect(perr("cfg_limits", "{rate: 1}").code).toBe("BTF_BAD_VALUE");
    expect(perr("data_array", "[1,2,3,4,5]").code).toBe("BTF_VALUE_RANGE");
    expect(perr("counters", '{"type": 1}').code).toBe("BTF_UNSUPPORTED_VALUE");
  });

  test("floats", () => {
    const k = load(localObj("kinds.bpfel.o"));
    expect(parseValue(k.btf, k.varId("cfg_anon"), '{"ratio": "2.5", "precise": -1e300, "point": {"x": "-3"}}')).toEqual({ ratio: 2.5, precise: -1e300, point: { x: -3 } });
    expect(() => parseValue(k.btf, k.varId("cfg_anon"), '{"ratio": 1e300}')).toThrow(expect.objectContaining({ code: "BTF_VALUE_RANGE" }));
    expect(() => parseValue(k.btf, k.varId("cfg_anon"), '{"ratio": "abc"}')).toThrow(expect.objectContaining({ code: "BTF_BAD_VALUE" }));
  });
});

describe("parseValue: quoted char arrays", () => {
  test("takes a JSON string literal for a char array, and plain text as is", () => {
    const { btf, vars } = load(sharedObj("globals.bpf.o"));
    const name = vars.find((v) => v.name === "cfg_name")!;
    expect(parseValue(btf, name.typeId, '"two words\\n"')).toBe("two words\n");
    expect(parseValue(btf, name.typeId, "plain")).toBe("plain");
    expect(parseValue(btf, name.typeId, '"')).toBe('"');
    expect(() => parseValue(btf, name.typeId, '"bad \\x"')).toThrow(/bad quoted string/);
  });
});
