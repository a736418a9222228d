/**
 * `xbpf prog list/show` on a program Debian's bpftool loaded (not @x): the same id, type, tag, load
 * time and maps as bpftool shows, the same metadata, every global typed by the kernel's BTF, and
 * `--set` writing a .data global that `bpftool map dump` then shows; a frozen .rodata global is
 * refused with the kernel's answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bpffsDir, fixture } from "../../loader/test/kernel.js";
import { bpftool, bpftoolJson, haveReference } from "../../loader/test/reference.js";
import { xbpf } from "./xbpf.js";

interface ShownProg { id: number; type: string; name: string; tag: string; loaded_at: number; map_ids: number[]; btf_id: number; metadata?: Record<string, unknown> }
type Dump = { formatted: { value: Record<string, Record<string, unknown>[]> } }[];

describe.runIf(haveReference)("xbpf prog on metadata.bpf.o loaded by bpftool", () => {
  let dir = "";
  let remove = () => {};
  let ref: ShownProg;
  beforeAll(() => {
    ({ dir, remove } = bpffsDir("xbpf-prog"));
    bpftool("prog", "load", fixture("metadata"), `${dir}/meta`, "pinmaps", `${dir}/maps`);
    ref = bpftoolJson<ShownProg>("prog", "show", "pinned", `${dir}/meta`);
  });
  afterAll(() => remove());

  it("prog list --json has it with bpftool's id, type, name, tag, load time and maps", async () => {
    const r = await xbpf("prog", "list", "--json");
    expect(r.code, r.err).toBe(0);
    const p = (r.json() as { id: number; loadedAt: string }[]).find((x) => x.id === ref.id)!;
    expect(p).toMatchObject({ id: ref.id, type: ref.type, name: ref.name, tag: ref.tag, btfId: ref.btf_id, gplCompatible: true });
    expect([...(p as unknown as { mapIds: number[] }).mapIds].sort()).toEqual([...ref.map_ids].sort());
    // bpftool prints whole seconds of the same boot-time clock.
    expect(Math.abs(Date.parse(p.loadedAt) / 1000 - ref.loaded_at)).toBeLessThan(2);
  });

  it("prog show PINNED --json: bpftool's metadata, and every global with section, C type and value", async () => {
    const r = await xbpf("prog", "show", `${dir}/meta`, "--json");
    expect(r.code, r.err).toBe(0);
    const j = r.json();
    // libbpf skips the .metadata section, so bpftool's program has only the .rodata metadata.
    expect(j.metadata).toEqual(ref.metadata);
    expect(j.metadata).toEqual({ version: "1.2.3", build: 42 });
    const globals = Object.fromEntries((j.globals as { name: string; section: string; type: string; value: unknown }[]).map((g) => [g.name, g]));
    expect(globals.counter).toMatchObject({ section: ".data", type: "__u64", value: 5 });
    expect(globals.runs).toMatchObject({ section: ".bss", type: "__u32", value: 0 });
    expect(globals.bpf_metadata_version).toMatchObject({ section: ".rodata", type: "const volatile char[6]", value: "1.2.3" });
    expect((j.maps as { section: string | null; frozen: boolean }[]).filter((m) => m.frozen).map((m) => m.section)).toEqual([".rodata"]);
  });

  it("--set writes a .data global (bpftool map dump shows it); a frozen .rodata one is refused with EPERM", async () => {
    const r = await xbpf("prog", "show", String(ref.id), "--set", "counter=77", "--set", "step=3", "--json");
    expect(r.code, r.err).toBe(0);
    const dump = bpftoolJson<Dump>("map", "dump", "pinned", `${dir}/maps/metadata_data`);
    expect(Object.assign({}, ...dump[0]!.formatted.value[".data"]!)).toEqual({ counter: 77, step: 3 });
    const bad = await xbpf("prog", "show", String(ref.id), "--set", "bpf_metadata_build=7", "--json");
    expect(bad.code).toBe(1);
    expect(bad.json().error).toMatchObject({ code: "OBJECT_READ_ONLY", location: { variable: "bpf_metadata_build", section: ".rodata" } });
    expect(bad.json().error.message).toMatch(/EPERM/);
    const bad2 = await xbpf("prog", "show", String(ref.id), "--set", "counter=-1", "--json");
    expect([bad2.code, bad2.json().error.code]).toEqual([1, "OBJECT_BAD_VALUE"]);
  });
});
