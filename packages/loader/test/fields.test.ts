// Setting and reading one field of a struct by path touches only that field's bytes: a pointer
// sibling, bitfields sharing a storage unit, array elements and anonymous union members.
import { describe, expect, it } from "vitest";
import { describeObject, openObject } from "@x/loader";
import { fixture } from "./fixtures.js";

const open = () => openObject(fixture("fields"));

describe("fields by path (fields.bpf.o)", () => {
  it("reads the whole struct, the pointer member as its raw value", () => {
    expect(open().get("settings")).toEqual({
      scratch: 0n, mode: 1, level: 2, flags: 0xabcdef,
      rules: [{ port: 80, proto: 6 }, { port: 443, proto: 6 }, { port: 53, proto: 17 }], limit: 100, delta: 100,
    });
    const d = describeObject(open());
    expect(d.variables.find((v) => v.name === "settings")?.value).toMatchObject({ mode: 1, scratch: 0n });
  });

  it("sets one bitfield without touching its neighbours", () => {
    const spec = open();
    const before = spec.variable("settings").raw();
    spec.set("settings.level", 31);
    expect(spec.get("settings.level")).toBe(31);
    expect(spec.get("settings.mode")).toBe(1);
    expect(spec.get("settings.flags")).toBe(0xabcdef);
    const after = spec.variable("settings").raw();
    const changed = [...after.keys()].filter((i) => after[i] !== before[i]);
    expect(changed).toEqual([8]); // mode:3 and level:5 share the byte after the 8-byte pointer
  });

  it("sets array elements and anonymous union members, as values and as command-line text", () => {
    const spec = open();
    spec.set("settings.rules[2].port", 5353);
    spec.set("settings.rules.1.proto", "17", { text: true });
    spec.set("settings.delta", -1);
    expect(spec.get("settings.rules")).toEqual([{ port: 80, proto: 6 }, { port: 443, proto: 17 }, { port: 5353, proto: 17 }]);
    expect(spec.get("settings.limit")).toBe(0xffffffff);
  });

  it("refuses what is not there, with the path and the fields there are", () => {
    const spec = open();
    expect(() => spec.set("settings.nope", 1)).toThrow(expect.objectContaining({ code: "OBJECT_NO_SUCH_VARIABLE", message: expect.stringMatching(/settings\.nope: .*has no field 'nope' \(fields: scratch, mode, level, flags, rules, limit, delta\)/) }));
    expect(() => spec.set("settings.rules[3].port", 1)).toThrow(expect.objectContaining({ code: "OBJECT_BAD_VALUE", message: expect.stringMatching(/index 3 is outside/) }));
    expect(() => spec.set("settings.mode", 8)).toThrow(expect.objectContaining({ code: "OBJECT_BAD_VALUE" }));
    expect(() => spec.get("settings.mode.x")).toThrow(expect.objectContaining({ code: "OBJECT_NO_SUCH_VARIABLE" }));
    expect(spec.get("settings.mode")).toBe(1);
  });
});
