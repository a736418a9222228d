/**
 * xbpf commands that need the kernel: `run` through BPF_PROG_TEST_RUN, `load` with pinning (ids the
 * kernel resolves), `probe`, and a verifier rejection reported with exit 1 and the verifier log.
 */
import { afterEach, describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { BpfSyscallError, compareKernelVersions, kernelVersion, mapGetFdById, mapInfo, mapLookup, parseKernelVersion, progGetFdById, progInfo } from "@x/sys";
import { bpffsDir, fixture, haveBpffs, haveKernel } from "../../loader/test/kernel.js";
import { refusedByPolicy } from "../../sys/test/refused.js";
import { udpPacketHex, xbpf } from "./xbpf.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

type Global = { name: string; section: string; value: unknown };

describe.runIf(haveKernel)("xbpf run", () => {
  it("example.bpf.o with cfg.blocked_port=8080 drops a UDP packet to 8080 (TC_ACT_SHOT) and counts it", async () => {
    const r = await xbpf("run", fixture("example"), "classify", "--set", "cfg.blocked_port=8080", "--data", udpPacketHex(8080), "--json");
    expect(r.code, r.err).toBe(0);
    const j = r.json();
    expect(j.retval).toBe(2); // TC_ACT_SHOT
    const g = Object.fromEntries((j.globals as Global[]).map((x) => [x.name, x.value]));
    expect(g.packets_dropped).toBe(1);
    expect(g.packets_seen).toBe(1);
    expect(g.last_port).toBe(8080);
    expect(g.bytes_total).toBe(udpPacketHex(8080).length / 2);
  });

  it("the same packet passes (TC_ACT_OK) with the compiled-in blocked port (53)", async () => {
    const r = await xbpf("run", fixture("example"), "classify", "--data", udpPacketHex(8080), "--json");
    expect(r.code, r.err).toBe(0);
    const j = r.json();
    expect(j.retval).toBe(0);
    expect((j.globals as Global[]).find((x) => x.name === "packets_dropped")!.value).toBe(0);
    const dns = (await xbpf("run", fixture("example"), "classify", "--data", udpPacketHex(53), "--json")).json();
    expect(dns.retval).toBe(2);
  });

  it("a raw tracepoint runs once, with no packet; --btf relocates CO-RE against another BTF than the kernel's", async () => {
    const own = (await xbpf("run", fixture("core"), "read_task", "--json")).json();
    const seen = (j: { globals: Global[] }) => j.globals.find((x) => x.name === "seen")!.value as Record<string, unknown>;
    expect(seen(own)).toMatchObject({ tgid: process.pid, map_type_array: 2 });
    // core-target.bpf.o's BTF: a 120-byte task_struct, BPF_MAP_TYPE_ARRAY = 42.
    const r = await xbpf("run", fixture("core"), "read_task", "--btf", fixture("core-target"), "--json");
    expect(r.code, r.err).toBe(0);
    expect(seen(r.json())).toMatchObject({ task_size: 120, map_type_array: 42 });
    const bad = await xbpf("run", fixture("core"), "read_task", "--btf", "/nonexistent.btf", "--json");
    expect([bad.code, bad.json().error.code]).toEqual([1, "OBJECT_BAD_TARGET_BTF"]);
  });

  it("--repeat runs the program N times in the kernel (the atomics count every run)", async () => {
    const j = (await xbpf("run", fixture("example"), "classify", "--data", udpPacketHex(9), "--repeat", "5", "--json")).json();
    expect(j.repeat).toBe(5);
    expect((j.globals as Global[]).find((x) => x.name === "packets_seen")!.value).toBe(5);
  });

  it("text output names the program, its return value and the globals", async () => {
    const r = await xbpf("run", fixture("example"), "classify", "--set", "cfg.blocked_port=8080", "--data", udpPacketHex(8080));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^classify: retval 2 /);
    expect(r.out).toMatch(/packets_dropped\s+\.bss\s+__u64\s+1/);
  });
});

describe.runIf(haveKernel && haveBpffs())("xbpf load", () => {
  it("--json lists ids the kernel resolves while pinned, with the flags the kernel reports", async () => {
    const { dir, remove } = bpffsDir("xbpf-load");
    cleanups.push(remove);
    const r = await xbpf("load", fixture("globals"), "--pin", dir, "--json");
    expect(r.code, r.err).toBe(0);
    const j = r.json();
    expect(j.object).toBe("globals");
    expect(j.programs.map((p: { name: string }) => p.name)).toEqual(["read_config", "update_state", "strings", "read_custom"]);
    // xbpf has disposed its fds; the pins keep everything alive, and the kernel finds it by id.
    for (const p of j.programs as { name: string; id: number; tag: string; pinned: string }[]) {
      expect(p.pinned).toBe(`${dir}/${p.name}`);
      using fd = progGetFdById(p.id);
      const info = progInfo(fd);
      expect(info.name).toBe(p.name);
      expect(info.tag).toBe(p.tag);
    }
    for (const m of j.maps as { name: string; id: number; flags: string[]; pinned: string }[]) {
      using fd = mapGetFdById(m.id);
      const info = mapInfo(fd);
      expect(info.name).toBe(m.name);
      expect(m.pinned).toBe(`${dir}/maps/${m.name.replace(/\./g, "_")}`);
      expect(m.flags.includes("RDONLY_PROG"), m.name).toBe(m.name.includes(".rodata"));
    }
  });

  it("without --pin everything is released when the command returns", async () => {
    const j = (await xbpf("load", fixture("big"), "--json")).json();
    const id = (j.programs as { id: number }[])[0]!.id;
    // The kernel frees a program after an RCU grace period: wait for the id to disappear.
    await expect.poll(() => {
      try {
        progGetFdById(id).close();
        return "alive";
      } catch (e) {
        return e instanceof BpfSyscallError ? e.errnoName : String(e);
      }
    }, { timeout: 10_000, interval: 50 }).toBe("ENOENT");
  });

  it("--set values reach the kernel's map (frozen .rodata read back by id)", async () => {
    const { dir, remove } = bpffsDir("xbpf-load");
    cleanups.push(remove);
    const j = (await xbpf("load", fixture("sk_lookup"), "--set", "verdict=0", "--pin", dir, "--json")).json();
    // libbpf's name: the object name cut so that "<obj>.rodata" fits in 15 characters.
    const ro = (j.maps as { name: string; id: number }[]).find((m) => m.name === "sk_looku.rodata")!;
    using fd = mapGetFdById(ro.id);
    const v = new Uint8Array(4);
    mapLookup(fd, new Uint8Array(4), v);
    expect(new DataView(v.buffer).getInt32(0, true)).toBe(0);
  });

  it("a verifier rejection exits 1 and prints the verifier log", async () => {
    const r = await xbpf("load", fixture("sk_lookup"), "--set", "verdict=7");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/program 'lookup'/);
    expect(r.err).toMatch(/verifier log:/);
    expect(r.err).toMatch(/should have been in/);
    // The log's end is part of the error message; with the whole log printed it is not repeated.
    expect(r.err.match(/should have been in/g)).toHaveLength(1);
    const j = await xbpf("load", fixture("sk_lookup"), "--set", "verdict=7", "--json");
    expect(j.code).toBe(1);
    const e = j.json().error;
    expect(e).toMatchObject({ code: "LOAD_PROGRAM", location: { object: "sk_lookup", program: "lookup" }, command: "BPF_PROG_LOAD", errnoName: "EINVAL" });
    expect(e.log).toMatch(/At program exit the register R0/);
  });

  it("--attach-target: a freplace program without one is refused with how to give it; a function the target lacks is named", async () => {
    const none = await xbpf("load", fixture("freplace"), "--program", "new_get_verdict", "--json");
    expect(none.code).toBe(1);
    expect(none.json().error).toMatchObject({ code: "OBJECT_BAD_ATTACH_TARGET", location: { program: "new_get_verdict" } });
    expect(none.json().error.message).toContain("xbpf load --attach-target new_get_verdict=ID|PATH");
    using target = openObject(fixture("freplace-target")).load();
    const id = target.program("classify").info().id;
    const wrong = await xbpf("load", fixture("freplace"), "--program", "new_get_verdict", "--attach-target", `new_get_verdict=${id}:nope`);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/the target program has no function 'nope' \(its functions: .*get_verdict/);
    expect((await xbpf("load", fixture("freplace"), "--attach-target", "new_get_verdict")).code).toBe(2);
  });
});

describe.runIf(haveKernel)("xbpf probe", () => {
  it("--json lists every feature; those older than the running kernel are supported", async () => {
    const r = await xbpf("probe", "--json");
    expect(r.code).toBe(0);
    const j = r.json();
    expect(j.kernel).toBe(kernelVersion().release);
    const running = parseKernelVersion(j.kernel);
    expect(j.features.length).toBeGreaterThan(5);
    const refused: Error[] = [];
    for (const f of j.features as { name: string; status: string; supported: boolean; since: string; error: string | null }[]) {
      expect(["supported", "missing", "unknown"], f.name).toContain(f.status);
      expect(f.supported, f.name).toBe(f.status === "supported");
      if (compareKernelVersions(parseKernelVersion(f.since), running) <= 0) {
        const policy = refusedByPolicy(f);
        if (policy) {
          refused.push(policy);
          continue;
        }
        expect(f.status, `${f.name} (since ${f.since}): ${f.error}`).toBe("supported");
        expect(f.error).toBeNull();
      }
    }
    // What every kernel test here relies on.
    const names = new Map((j.features as { name: string; supported: boolean }[]).map((f) => [f.name, f.supported]));
    for (const n of ["global_data", "btf", "map_freeze", "rdonly_prog"]) expect(names.get(n), n).toBe(true);
    // Everything else checked: a feature this kernel refuses by policy makes the test unsupported.
    if (refused[0]) throw refused[0];
  });

  it("text output is a table with one line per feature", async () => {
    const r = await xbpf("probe");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^kernel /);
    expect(r.out).toMatch(/global_data\s+yes/);
  });
});
