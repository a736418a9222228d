/**
 * `xbpf attach`, `xbpf replace` and `xbpf detach` on a veth pair (tools/traffic/topology.mjs): the
 * attachment lives in its pin directory between commands, each replacement runs a new program id on
 * the same link, and state in the map pinned by name carries over.
 */
import { existsSync, rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { enterNetns, interfaceIndex, linkGetFdById, linkInfo, mapLookup, objGet, tcFilterProgramId } from "@x/sys";
import { vethPair } from "../../../tools/traffic/topology.mjs";
import { bpffsDir, fixture, haveBpffs, haveKernel } from "../../loader/test/kernel.js";
import { loadKernelModule } from "../../sys/test/modules.js";
import { requireFeatureForTest } from "../../sys/test/refused.js";
import { xbpf } from "./xbpf.js";

/** The program of the netlink tc filter xbpf attaches (ingress, handle 1, priority 1), 0 when none. */
function tcFilterProgramIdIn(netns: string, iface: string): number {
  using _ns = enterNetns(netns);
  return tcFilterProgramId({ ifindex: interfaceIndex(iface), direction: "ingress" }) ?? 0;
}

describe.runIf(haveKernel && haveBpffs())("xbpf attach / replace / detach", () => {
  for (const via of ["link", "netlink"] as const) it(`tc via ${via}: attached and pinned under DIR, replaced twice in place, detached`, async () => {
    for (const m of ["veth", "sch_ingress", "cls_bpf"]) loadKernelModule(m);
    if (via === "link") requireFeatureForTest("tcx_link");
    const pair = vethPair();
    const root = bpffsDir("xbpf-cli-attach");
    const dir = `${root.dir}/counter`;
    const pinRoot = `${root.dir}/by-name`;
    try {
      const a = await xbpf("attach", fixture("counter"), "count_tc", "--tc", `${pair.receiver.iface}:ingress`, "--in-netns", pair.receiver.netns, "--via", via, "--set", "version=1", "--pin", dir, "--pin-root", pinRoot, "--json");
      expect(a.code, a.err).toBe(0);
      const attached = a.json();
      expect(attached.link).toMatchObject(via === "link" ? { kind: "tcx", via, attachType: "tcx_ingress", pinned: `${dir}/link` } : { kind: "tc", via, id: null, pinned: `${dir}/link` });
      expect(attached.program.pinned).toBe(`${dir}/count_tc`);
      expect(existsSync(`${pinRoot}/counts`)).toBe(true);

      // A second attach to the same DIR is refused: the attachment is there.
      const again = await xbpf("attach", fixture("counter"), "count_tc", "--tc", `${pair.receiver.iface}:ingress`, "--in-netns", pair.receiver.netns, "--pin", dir, "--pin-root", pinRoot);
      expect(again.code).toBe(2);
      expect(again.err).toMatch(/exists: replace it with xbpf replace/);

      const r1 = await xbpf("replace", dir, fixture("counter"), "count_tc", "--set", "version=2", "--keep-globals", "--pin-root", pinRoot, "--json");
      expect(r1.code, r1.err).toBe(0);
      const one = r1.json();
      expect(one.previousProgramId).toBe(attached.program.id);
      expect(one.link.id).toBe(attached.link.id);
      expect(one.globals.map((g: { name: string; outcome: string }) => `${g.name}:${g.outcome}`).sort()).toEqual(["last_version:copied", "seen:copied"]);
      const r2 = await xbpf("replace", dir, fixture("counter"), "count_tc", "--set", "version=3", "--reuse-map", ".bss", "--pin-root", pinRoot, "--json");
      expect(r2.code, r2.err).toBe(0);
      expect(r2.json().previousProgramId).toBe(one.programId);
      const running = () => (via === "link" ? linkInfo(linkGetFdById(attached.link.id)).progId : tcFilterProgramIdIn(pair.receiver.netns, pair.receiver.iface));
      expect(running()).toBe(r2.json().programId);
      // The map pinned by name is the one every version used.
      using counts = objGet(`${pinRoot}/counts`);
      expect(mapLookup(counts, new Uint8Array(4), new Uint8Array(8))).toBe(true);

      // Replacing with a program that is not in the object fails cleanly and leaves the link alone.
      const bad = await xbpf("replace", dir, fixture("counter"), "no_such_prog", "--pin-root", pinRoot, "--json");
      expect(bad.code).not.toBe(0);
      expect(running()).toBe(r2.json().programId);

      const d = await xbpf("detach", dir, "--json");
      expect(d.code, d.err).toBe(0);
      expect(d.json().detached.id).toBe(attached.link.id);
      expect(existsSync(dir)).toBe(false);
      if (via === "link") expect(linkInfo(linkGetFdById(attached.link.id)).ifindex).toBe(0);
      else expect(tcFilterProgramIdIn(pair.receiver.netns, pair.receiver.iface)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      root.remove();
      pair.remove();
    }
  });

  it("refuses a command line without an attach point, or with two", async () => {
    const none = await xbpf("attach", fixture("counter"), "count_tc", "--pin", "/sys/fs/bpf/xbpf-never");
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/give exactly one of --xdp/);
    const two = await xbpf("attach", fixture("counter"), "count_tc", "--xdp", "lo", "--tc", "lo:ingress", "--pin", "/sys/fs/bpf/xbpf-never");
    expect(two.code).toBe(2);
    expect(two.err).toMatch(/got --xdp, --tc/);
  });
});
