import { describe, expect, it } from "vitest";
import { internalMapName, objectNameFromPath } from "@x/loader";

describe("internal map names (libbpf internal_map_name)", () => {
  it.each([
    ["globals", ".rodata", "globals.rodata"],
    ["sk_lookup", ".rodata", "sk_looku.rodata"],
    ["my_object", ".kconfig", "my_obje.kconfig"],
    ["glob", ".data", "glob.data"],
    ["anything", ".rodata.str1.1", ".rodata.str1.1"],
    ["anything", ".rodata.abracadabra", ".rodata.abracad"],
    ["obj", ".data.a-b", ".data.a_b"],
  ])("%s + %s → %s", (obj, sec, want) => {
    expect(internalMapName(obj, sec)).toBe(want);
  });

  it("takes the object name from the file name up to its first dot", () => {
    expect(objectNameFromPath("/a/b/globals.bpf.o")).toBe("globals");
    expect(objectNameFromPath("plain")).toBe("plain");
  });
});
