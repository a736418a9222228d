/**
 * rtnetlink attach paths (the ones before tcx and XDP links) on a veth pair in two fresh network
 * namespaces (tools/traffic/topology.mjs): a clsact qdisc and cls_bpf filters added, read back,
 * replaced and removed; XDP set, replaced only while the expected program runs, and removed; the
 * kernel's extended ACK message carried by the error.
 */
import { describe, expect, it } from "vitest";
import { asm } from "@x/reloc";
import {
  enterNetns, interfaceIndex, NetlinkError, progInfo, progLoad, ProgType, tcClsactAdd, tcFilterAttach, tcFilterDetach, tcFilterProgramId, xdpProgramId, xdpSet,
} from "@x/sys";
import { vethPair } from "../../../tools/traffic/topology.mjs";
import { encodeInsns, haveKernel } from "./kernel.js";
import { loadKernelModule } from "./modules.js";

const ret = (type: number, v: number) => progLoad({ type, insns: encodeInsns([asm.mov64Imm(0, v), asm.exit()]), license: "GPL" });

describe.runIf(haveKernel)("netlink attach", () => {
  for (const m of ["veth", "sch_ingress", "cls_bpf"]) loadKernelModule(m);

  it("tc: clsact, a direct-action bpf filter read back by id, replaced in place, removed", () => {
    const pair = vethPair("xnl");
    try {
      using ns = enterNetns(pair.receiver.netns);
      const ifindex = interfaceIndex(pair.receiver.iface);
      using a = ret(ProgType.SCHED_CLS, 0);
      using b = ret(ProgType.SCHED_CLS, 0);
      expect(tcClsactAdd(ifindex)).toBe(true);
      expect(tcClsactAdd(ifindex)).toBe(false);
      const f = { ifindex, direction: "ingress" as const, handle: 1, priority: 1 };
      expect(tcFilterProgramId(f)).toBeUndefined();
      tcFilterAttach(f, a, { name: "a" });
      expect(tcFilterProgramId(f)).toBe(progInfo(a).id);
      // A second filter at the same place without replace: EEXIST, in the kernel's words.
      let error: unknown;
      try {
        tcFilterAttach(f, b);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(NetlinkError);
      expect((error as NetlinkError).errnoName).toBe("EEXIST");
      expect((error as NetlinkError).message).toMatch(/RTM_NEWTFILTER \(tc ingress filter 1 at priority 1 on ifindex \d+\) failed: EEXIST/);
      tcFilterAttach(f, b, { replace: true });
      expect(tcFilterProgramId(f)).toBe(progInfo(b).id);
      // egress is another chain
      expect(tcFilterProgramId({ ...f, direction: "egress" })).toBeUndefined();
      tcFilterDetach(f);
      expect(tcFilterProgramId(f)).toBeUndefined();
      void ns;
    } finally {
      pair.remove();
    }
  });

  it("xdp: set, replaced only while the expected program runs, removed", () => {
    const pair = vethPair("xnl");
    try {
      using ns = enterNetns(pair.receiver.netns);
      const ifindex = interfaceIndex(pair.receiver.iface);
      using a = ret(ProgType.XDP, 2);
      using b = ret(ProgType.XDP, 2);
      using c = ret(ProgType.XDP, 2);
      expect(xdpProgramId(ifindex)).toBe(0);
      xdpSet(ifindex, a);
      expect(xdpProgramId(ifindex)).toBe(progInfo(a).id);
      xdpSet(ifindex, b, { expected: a });
      expect(xdpProgramId(ifindex)).toBe(progInfo(b).id);
      let error: unknown;
      try {
        xdpSet(ifindex, c, { expected: a });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(NetlinkError);
      expect((error as NetlinkError).errnoName).toBe("EEXIST");
      // The extended ACK (5.x kernels have it for XDP): "Active program does not match expected".
      console.log(`[netlink] ${(error as Error).message}`);
      expect((error as NetlinkError).extack ?? "").toMatch(/^$|expected/);
      expect(xdpProgramId(ifindex)).toBe(progInfo(b).id);
      xdpSet(ifindex, undefined);
      expect(xdpProgramId(ifindex)).toBe(0);
      void ns;
    } finally {
      pair.remove();
    }
  });
});
