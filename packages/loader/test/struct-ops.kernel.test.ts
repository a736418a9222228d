/**
 * struct-ops.bpf.o on every kernel of the matrix: a TCP congestion control written in BPF
 * (struct tcp_congestion_ops), registered by its map (.struct_ops) and by a link (.struct_ops.link,
 * Linux 6.4), used by a TCP connection over loopback (setsockopt TCP_CONGESTION), and unregistered.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { MapType, ProgType } from "@x/sys/abi";
import { fixture, haveKernel } from "./kernel.js";
import { congestion, setCongestion, tcpPair } from "./tcp.js";

const available = () => readFileSync("/proc/sys/net/ipv4/tcp_available_congestion_control", "utf8").trim().split(/\s+/);

describe.runIf(haveKernel)("struct-ops.bpf.o: a TCP congestion control in BPF", () => {
  it("opens one struct_ops map per variable, with its function pointers' programs; ?.struct_ops is not created", () => {
    const spec = openObject(fixture("struct-ops"));
    expect(spec.map("xbpf_cc")).toMatchObject({ type: MapType.STRUCT_OPS, origin: "struct_ops", autocreate: true });
    expect(Object.fromEntries(spec.map("xbpf_cc").structOps!.programs)).toEqual({ init: "xbpf_init", ssthresh: "xbpf_ssthresh", cong_avoid: "xbpf_cong_avoid", undo_cwnd: "xbpf_undo_cwnd" });
    expect(spec.map("xbpf_cc_optional").autocreate).toBe(false);
    expect(spec.get("xbpf_cc.name")).toBe("xbpf_cc");
    expect(spec.program("xbpf_init").kind?.progType).toBe(ProgType.STRUCT_OPS);
  });

  it("registered by the map update, used by a connection, unregistered by deleting the value", async () => {
    const spec = openObject(fixture("struct-ops"));
    spec.map("xbpf_cc").autocreate = false; // a link map needs Linux 6.4: the next test
    using obj = spec.load();
    expect(obj.maps.has("xbpf_cc_optional")).toBe(false);
    const cc = obj.structOps("xbpf_cc_map");
    expect(cc.usesLink).toBe(false);
    const reg = cc.register();
    expect(available()).toContain("xbpf_cc_map");
    const tcp = await tcpPair();
    try {
      expect(setCongestion(tcp.client, "xbpf_cc_map")).toBeUndefined();
      expect(congestion(tcp.client)).toBe("xbpf_cc_map");
      await tcp.send(1 << 20);
      // init runs when the congestion control is set on the connection.
      expect(obj.variable("init_calls").get()).toBeGreaterThanOrEqual(1);
    } finally {
      tcp.close();
    }
    reg.unregister();
    expect(available()).not.toContain("xbpf_cc_map");
    const later = await tcpPair();
    try {
      expect(setCongestion(later.client, "xbpf_cc_map")).toBe("ENOENT");
    } finally {
      later.close();
    }
  });

  it("registered through a link (.struct_ops.link), unregistered when the link closes", async () => {
    using obj = openObject(fixture("struct-ops")).load();
    const cc = obj.structOps("xbpf_cc");
    expect(cc.usesLink).toBe(true);
    {
      using reg = cc.register();
      expect(reg.link).toBeDefined();
      expect(available()).toContain("xbpf_cc");
      const tcp = await tcpPair();
      try {
        expect(setCongestion(tcp.peer, "xbpf_cc")).toBeUndefined();
        expect(congestion(tcp.peer)).toBe("xbpf_cc");
        expect(obj.variable("init_calls").get()).toBeGreaterThanOrEqual(1);
      } finally {
        tcp.close();
      }
    }
    expect(available()).not.toContain("xbpf_cc");
  });

  it("an optional (?.struct_ops) map is created when asked for, and its programs loaded with it", () => {
    const spec = openObject(fixture("struct-ops"));
    spec.map("xbpf_cc_optional").autocreate = true;
    spec.map("xbpf_cc").autocreate = false;
    spec.map("xbpf_cc_map").autocreate = false;
    using obj = spec.load();
    expect([...obj.structOpsMaps.keys()]).toEqual(["xbpf_cc_optional"]);
    // xbpf_init is pointed to only by the maps not created: not loaded (libbpf's autoload rule).
    expect([...obj.programs.keys()].sort()).toEqual(["xbpf_cong_avoid", "xbpf_ssthresh", "xbpf_undo_cwnd"]);
    using reg = obj.structOps("xbpf_cc_optional").register();
    expect(available()).toContain("xbpf_cc_opt");
    reg.unregister();
  });

  it("programs: [...] cannot leave out a program a created struct_ops map points to, nor load one no created map does", () => {
    const spec = openObject(fixture("struct-ops"));
    spec.map("xbpf_cc").autocreate = false;
    spec.map("xbpf_cc_map").autocreate = false;
    spec.map("xbpf_cc_optional").autocreate = true;
    // As libbpf: struct_ops programs' autoload follows the maps, whatever was asked for.
    using obj = spec.load({ programs: ["xbpf_ssthresh", "xbpf_init"] });
    expect([...obj.programs.keys()].sort()).toEqual(["xbpf_cong_avoid", "xbpf_ssthresh", "xbpf_undo_cwnd"]);
  });
});
