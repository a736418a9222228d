/**
 * `xbpf patch` output is a valid object for the reference loader: the patched file (written under
 * the same basename, so libbpf names the maps the same) loads with `bpftool prog loadall`, and
 * `bpftool map dump` of the frozen .rodata map shows the new values by variable name. `xbpf load`
 * ids are what bpftool sees.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bpffsDir, fixture } from "../../loader/test/kernel.js";
import { bpftool, bpftoolJson, type BpftoolMap, type BpftoolProg, haveReference } from "../../loader/test/reference.js";
import { udpPacketHex, xbpf } from "./xbpf.js";

const tmp = mkdtempSync(join(tmpdir(), "xbpf-patch-"));
const cleanups: (() => void)[] = [() => rmSync(tmp, { recursive: true, force: true })];
afterAll(() => cleanups.forEach((c) => c()));

type Dump = { key: unknown; value: unknown; formatted?: { value: Record<string, Record<string, unknown>[]> } }[];

/**
 * Load `obj` with bpftool/libbpf and return the formatted DATASEC of a pinned internal map, as
 * { var: value }. `.rodata*` maps must be frozen by libbpf, the others not.
 */
function libbpfSection(obj: string, pinnedMap: string): Record<string, unknown> {
  const { dir, remove } = bpffsDir("xbpf-patch");
  cleanups.push(remove);
  bpftool("prog", "loadall", obj, `${dir}/progs`, "pinmaps", `${dir}/maps`);
  const map = bpftoolJson<BpftoolMap>("map", "show", "pinned", `${dir}/maps/${pinnedMap}`);
  expect(map.frozen).toBe(pinnedMap.includes("rodata") ? 1 : 0);
  const dump = bpftoolJson<Dump>("map", "dump", "pinned", `${dir}/maps/${pinnedMap}`);
  expect(dump.length).toBe(1);
  const [section] = Object.values(dump[0]!.formatted!.value);
  return Object.assign({}, ...section!);
}

describe.runIf(haveReference)("xbpf patch → libbpf", () => {
  it("example.bpf.o: the patched .rodata is what libbpf loads (struct field and char array)", async () => {
    const out = join(mkdtempSync(join(tmp, "ex-")), "example.bpf.o");
    const r = await xbpf("patch", fixture("example"), "--set", "cfg.blocked_port=8080", "--set", "cfg.max_len=900", "--set", "label=patched", "-o", out);
    expect(r.code, r.err).toBe(0);
    expect(libbpfSection(out, "example_rodata")).toEqual({ cfg: { blocked_port: 8080, verbose: 0, max_len: 900 }, label: "patched" });
    // The untouched original still holds the compiled-in values.
    expect(libbpfSection(fixture("example"), "example_rodata")).toEqual({ cfg: { blocked_port: 53, verbose: 0, max_len: 1500 }, label: "example" });
  });

  it("globals.bpf.o: .rodata, .data and custom sections patched; libbpf sees every value", async () => {
    const out = join(mkdtempSync(join(tmp, "gl-")), "globals.bpf.o");
    const r = await xbpf(
      "patch", fixture("globals"),
      "--set", "cfg_mode=MODE_ON", "--set", "cfg_u32=77", "--set", "cfg_s64=-1", "--set", "cfg_limits.rate=5",
      "--set", "data_counter=1000", "--set", "custom_data=9", "--set", "custom_ro=8",
      "-o", out,
    );
    expect(r.code, r.err).toBe(0);
    const ro = libbpfSection(out, "globals_rodata");
    expect(ro).toMatchObject({ cfg_mode: "MODE_ON", cfg_u32: 77, cfg_s64: -1, cfg_u8: 200, cfg_name: "globals" });
    expect((ro.cfg_limits as { rate: number }).rate).toBe(5);
    expect(libbpfSection(out, "_rodata_custom")).toEqual({ custom_ro: 8 });
    expect(libbpfSection(out, "globals_data")).toMatchObject({ data_counter: 1000, data_array: [1, -2, 3, -4] });
    expect(libbpfSection(out, "_data_custom")).toEqual({ custom_data: 9 });
  });

  it("the patched object runs as patched in the kernel under @x too (xbpf run on the patched file)", async () => {
    const out = join(mkdtempSync(join(tmp, "ex-")), "example.bpf.o");
    expect((await xbpf("patch", fixture("example"), "--set", "cfg.blocked_port=8080", "-o", out)).code).toBe(0);
    const j = (await xbpf("run", out, "classify", "--data", udpPacketHex(8080), "--json")).json();
    expect(j.retval).toBe(2);
  });
});

describe.runIf(haveReference)("xbpf load → bpftool", () => {
  it("--json ids are the programs and maps bpftool shows while pinned", async () => {
    const { dir, remove } = bpffsDir("xbpf-load");
    cleanups.push(remove);
    const r = await xbpf("load", fixture("example"), "--pin", dir, "--json");
    expect(r.code, r.err).toBe(0);
    const j = r.json();
    for (const p of j.programs as { name: string; id: number; tag: string; pinned: string }[]) {
      const shown = bpftoolJson<BpftoolProg>("prog", "show", "pinned", p.pinned);
      expect({ id: shown.id, name: shown.name, tag: shown.tag, type: shown.type }).toEqual({ id: p.id, name: p.name, tag: p.tag, type: "sched_cls" });
      // The program uses exactly the maps xbpf listed.
      expect([...shown.map_ids!].sort()).toEqual((j.maps as { id: number }[]).map((m) => m.id).sort());
    }
    for (const m of j.maps as { name: string; id: number; pinned: string }[]) {
      const shown = bpftoolJson<BpftoolMap>("map", "show", "id", String(m.id));
      expect(shown.name).toBe(m.name);
      expect(bpftoolJson<BpftoolMap>("map", "show", "pinned", m.pinned).id).toBe(m.id);
    }
  });
});
