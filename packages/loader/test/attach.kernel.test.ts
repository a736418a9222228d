/**
 * Attaching, and atomic replacement under traffic. The traffic runs in two network namespaces joined
 * by a veth pair (tools/traffic: made and removed by each test, nothing outside them touched), with
 * `ip` from iproute2, which the VM guests have too (they run on the host's root). counter.bpf.o
 * counts the UDP packets to one port by version into a map pinned by name and into `.bss`; it is
 * replaced 100 times while packets flow, and every packet must be counted exactly once.
 */
import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AttachError, openObject, openPinnedLink, replaceProgram } from "@x/loader";
import { AttachType, LinkType, progInfo } from "@x/sys";
import { replaceUnderTraffic } from "../../../tools/traffic/replace-under-traffic.mjs";
import { sendUdp, vethPair } from "../../../tools/traffic/topology.mjs";
import { loadKernelModule } from "../../sys/test/modules.js";
import { requireFeatureForTest, requireProgTypeForTest } from "../../sys/test/refused.js";
import { bpffsDir, fixture, haveBpffs, haveKernel } from "./kernel.js";

/**
 * veth is a module in the matrix's Debian kernels: load it. Where there is none to load (built in, on a
 * kernel without module support) the pair may still work, and vethPair says why when it does not.
 */
function needVeth(tc = false): void {
  loadKernelModule("veth");
  // The netlink tc path (every kernel before tcx) needs the clsact qdisc and cls_bpf.
  if (tc) for (const m of ["sch_ingress", "cls_bpf"]) loadKernelModule(m);
}

/** A cgroup v2 directory to attach to, and its removal. */
function testCgroup(): { path: string; remove: () => void } {
  const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" "));
  let root = mounts.find((f) => f[2] === "cgroup2")?.[1];
  let unmount: (() => void) | undefined;
  if (!root) {
    // The VM guests mount no cgroup2: mount one for the test.
    root = mkdtempSync("/tmp/xbpf-cgroup2-");
    execFileSync("mount", ["-t", "cgroup2", "none", root]);
    unmount = () => {
      execFileSync("umount", [root!]);
      rmSync(root!, { recursive: true, force: true });
    };
  }
  const path = `${root}/xbpf-attach-${process.pid}`;
  mkdirSync(path, { recursive: true });
  return { path, remove: () => { rmdirSync(path); unmount?.(); } };
}

/** Run `fn` with this process in cgroup `path` (its sockets are made there), then move it back. */
async function inCgroup<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const v2 = readFileSync("/proc/self/cgroup", "utf8").split("\n").find((l) => l.startsWith("0::"))!.slice(3);
  const root = path.slice(0, path.lastIndexOf("/"));
  writeFileSync(`${path}/cgroup.procs`, String(process.pid));
  try {
    return await fn();
  } finally {
    writeFileSync(`${root}${v2 === "/" ? "" : v2}/cgroup.procs`, String(process.pid));
  }
}

/** A UDP socket on 127.0.0.1:`port`; `expect(n, send?)` sends `send` (default n) datagrams to it and waits until n arrive (and no more). */
async function udpReceiver(port: number) {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve, reject) => socket.once("error", reject).bind(port, "127.0.0.1", () => resolve()));
  const sender = createSocket("udp4");
  let received = 0;
  socket.on("message", () => received++);
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === "state symbol")!;
  const fd = (socket as unknown as Record<symbol, { handle: { fd: number } }>)[state]!.handle.fd;
  return {
    fd,
    async expect(n: number, send = n) {
      const before = received;
      for (let i = 0; i < send; i++) await new Promise<void>((r, j) => sender.send(Buffer.alloc(8), port, "127.0.0.1", (e) => (e ? j(e) : r())));
      const until = Date.now() + 2000;
      while (received - before < n && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 50));
      expect(received - before).toBe(n);
    },
    close() {
      socket.close();
      sender.close();
    },
  };
}

const counterObject = () => {
  const spec = openObject(fixture("counter"));
  spec.set("port", 9000);
  return spec;
};

describe.runIf(haveKernel && haveBpffs())("attach and replace", () => {
  // Default: the link where the kernel has one (tcx 6.6, XDP 5.9), netlink before; then netlink on every kernel.
  for (const [mode, via] of [["tc", undefined], ["xdp", undefined], ["tc", "netlink"], ["xdp", "netlink"]] as const) {
    it(`${mode}${via ? ` via ${via}` : ""}: 100 replacements while 3000 packets flow; each packet counted once, by one version`, async () => {
      needVeth(mode === "tc");
      const r = await replaceUnderTraffic({ mode, ...(via ? { via } : {}), replacements: 100, packets: 3000, rate: 1000 });
      console.log(`[attach] ${mode} (${r.attachment} ${r.via}): ${r.sent} sent, ${r.counted} counted by ${r.versionsCounting} versions; swap median ${r.swapMs.median.toFixed(2)} ms`);
      if (via === "netlink") expect(r.via).toBe("netlink");
      expect(r.failed).toBe(0);
      expect(r.sent).toBe(3000);
      expect(r.counted).toBe(r.sent);
      // .bss was reused at each replacement: its counter saw every packet too.
      expect(r.seen).toBe(r.sent);
      // The replacements happened under traffic: more than one version counted packets.
      expect(r.versionsCounting).toBeGreaterThan(1);
    }, 600_000);
  }

  for (const via of ["link", "netlink"] as const) {
    it(`tc via ${via}: a pinned attachment is opened and updated; a stale expectation changes nothing (ATTACH_REPLACED); detach ends it`, () => {
      needVeth(true);
      if (via === "link") requireFeatureForTest("tcx_link");
      const pair = vethPair();
      const pins = bpffsDir("xbpf-attach");
      try {
        const spec = counterObject();
        using v1 = spec.load({ programs: ["count_tc"], pinRoot: pins.dir });
        spec.set("version", 2);
        using v2 = spec.load({ programs: ["count_tc"], pinRoot: pins.dir });
        spec.set("version", 3);
        using v3 = spec.load({ programs: ["count_tc"], pinRoot: pins.dir });
        const id = (o: typeof v1) => o.program("count_tc").info().id;
        const first = v1.program("count_tc").attach({ tc: { interface: pair.receiver.iface, direction: "ingress", netns: pair.receiver.netns, via } });
        expect(first.kind).toBe(via === "link" ? "tcx" : "tc");
        const info = first.info();
        if (via === "link") {
          expect(info.type).toBe(LinkType.TCX);
          expect(info.attachType).toBe(AttachType.TCX_INGRESS);
        }
        expect(info.ifindex).toBeGreaterThan(0);
        expect(info.progId).toBe(id(v1));
        first.pin(`${pins.dir}/link`);
        first.close();
        // Pinned, the attachment outlives its handle.
        using opened = openPinnedLink(`${pins.dir}/link`);
        expect(opened.kind).toBe(first.kind);
        expect(opened.programId).toBe(id(v1));
        expect(opened.runningProgramId()).toBe(id(v1));
        // Someone else replaces the program behind this handle's back…
        using other = openPinnedLink(`${pins.dir}/link`);
        other.update(v2.program("count_tc"));
        // …so this handle's update, expecting v1, must fail and leave v2 running.
        let error: unknown;
        try {
          opened.update(v3.program("count_tc"));
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(AttachError);
        expect((error as AttachError).code).toBe("ATTACH_REPLACED");
        expect(other.runningProgramId()).toBe(id(v2));

        // replaceProgram through the pinned attachment: the new program runs, the old id is reported.
        spec.set("version", 4);
        const r = replaceProgram(other, spec, { program: "count_tc", pinRoot: pins.dir, keepGlobals: true });
        try {
          expect(r.previousProgramId).toBe(id(v2));
          expect(other.runningProgramId()).toBe(r.programId);
          expect(r.globals.map((g) => [g.name, g.outcome]).sort()).toEqual([["last_version", "copied"], ["seen", "copied"]]);
        } finally {
          r.object.dispose();
        }

        // detach ends the attachment (the pin goes too) although another handle is still open.
        other.detach();
        expect(existsSync(`${pins.dir}/link`)).toBe(false);
        if (via === "link") expect(opened.info().ifindex).toBe(0); // a detached tcx link is defunct
        else expect(opened.runningProgramId()).toBe(0);
      } finally {
        pins.remove();
        pair.remove();
      }
    });
  }

  it("keepGlobals reports the globals a later version narrowed or renamed, and copies none of them", () => {
    needVeth();
    const pair = vethPair();
    const pins = bpffsDir("xbpf-attach");
    try {
      using v1 = counterObject().load({ programs: ["count_xdp"], pinRoot: pins.dir });
      v1.variable("seen").set(41n);
      using link = v1.program("count_xdp").attach({ xdp: { interface: pair.receiver.iface, netns: pair.receiver.netns } });
      const next = openObject(fixture("counter-next"));
      // Reusing .bss across the change is refused (the map's value size differs), and nothing changes.
      const before = link.runningProgramId();
      expect(() => replaceProgram(link, next, { program: "count_xdp", pinRoot: pins.dir, reuseMaps: [".bss"] })).toThrow(/valueSize 16, the object wants 8/);
      expect(link.runningProgramId()).toBe(before);
      const r = replaceProgram(link, next, { program: "count_xdp", pinRoot: pins.dir, keepGlobals: true });
      try {
        expect([...r.globals].sort((a, b) => a.name.localeCompare(b.name))).toEqual([
          { name: "last_version", section: ".bss", outcome: "gone" },
          { name: "seen", section: ".bss", outcome: "resized", from: "__u64 (8 bytes)", to: "__u32 (4 bytes)" },
        ]);
        expect(r.object.variable("seen").get()).toBe(0);
        expect(link.runningProgramId()).toBe(r.programId);
      } finally {
        r.object.dispose();
      }
    } finally {
      pins.remove();
      pair.remove();
    }
  });

  it("tcx before/after: a program put before the first sees the packets, one put after it sees none", async () => {
    needVeth();
    requireFeatureForTest("tcx_link");
    const pair = vethPair();
    const pins = bpffsDir("xbpf-attach");
    try {
      const spec = counterObject();
      const at = { interface: pair.receiver.iface, netns: pair.receiver.netns, direction: "ingress" as const };
      spec.set("version", 1);
      using first = spec.load({ programs: ["count_tc"], pinRoot: pins.dir });
      spec.set("version", 2);
      using ahead = spec.load({ programs: ["count_tc"], pinRoot: pins.dir });
      spec.set("version", 3);
      using behind = spec.load({ programs: ["count_tc"], pinRoot: pins.dir });
      using a = first.program("count_tc").attach({ tc: at });
      using b = ahead.program("count_tc").attach({ tc: { ...at, before: first.program("count_tc").fd } });
      using c = behind.program("count_tc").attach({ tc: { ...at, after: { id: first.program("count_tc").info().id } } });
      const sent = await sendUdp({ netns: pair.sender.netns, to: pair.receiver.addr, port: 9000, count: 50, rate: 500 });
      await new Promise((r) => setTimeout(r, 200));
      // count_tc returns TC_ACT_OK, which ends a tcx chain: only the first program in it counts.
      const counts = first.map("counts");
      const count = (v: number) => {
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, v, true);
        return Number(new DataView(counts.lookup(key)!.buffer).getBigUint64(0, true));
      };
      expect(sent.sent).toBe(50);
      expect([count(1), count(2), count(3)]).toEqual([0, 50, 0]);
      void a;
      void b;
      void c;
    } finally {
      pins.remove();
      pair.remove();
    }
  });

  it("keepGlobals copies the globals of the same name, type and size; reused sections are kept", () => {
    needVeth();
    const pair = vethPair();
    const pins = bpffsDir("xbpf-attach");
    try {
      using v1 = counterObject().load({ programs: ["count_xdp"], pinRoot: pins.dir });
      v1.variable("seen").set(41n);
      using link = v1.program("count_xdp").attach({ xdp: { interface: pair.receiver.iface, netns: pair.receiver.netns } });
      expect(link.kind).toBe("xdp");
      const next = counterObject();
      next.set("version", 1);
      const r = replaceProgram(link, next, { program: "count_xdp", pinRoot: pins.dir, keepGlobals: true });
      try {
        expect(r.object.variable("seen").get()).toBe(41n);
      } finally {
        r.object.dispose();
      }
      // With .bss reused instead, the variable is the live one: reported as kept.
      const r2 = replaceProgram(link, next, { program: "count_xdp", pinRoot: pins.dir, reuseMaps: [".bss"] });
      try {
        expect(r2.globals.find((g) => g.name === "seen")?.outcome).toBe("kept");
      } finally {
        r2.object.dispose();
      }
    } finally {
      pins.remove();
      pair.remove();
    }
  });

  for (const via of ["link", "prog_attach"] as const) {
    it(`cgroup via ${via}: counts what this process's sockets receive, is replaced in place, refuses a stale expectation`, async () => {
      const cg = testCgroup();
      const pins = bpffsDir("xbpf-attach");
      const port = 40000 + (process.pid % 20000);
      try {
        const spec = counterObject();
        spec.set("port", port);
        using v1 = spec.load({ programs: ["count_cgroup"], pinRoot: pins.dir });
        spec.set("version", 2);
        using v2 = spec.load({ programs: ["count_cgroup"], pinRoot: pins.dir, reuseMaps: { ".bss": v1.map(".bss").fd } });
        using a = v1.program("count_cgroup").attach({ cgroup: { path: cg.path, via } });
        expect(a.via).toBe(via);
        if (via === "link") expect(a.info().attachType).toBe(AttachType.CGROUP_INET_INGRESS);
        // A socket made while this process is in the cgroup belongs to it.
        const receiver = await inCgroup(cg.path, () => udpReceiver(port));
        try {
          await receiver.expect(3);
          expect(Number(v1.variable("seen").get())).toBe(3);
          a.update(v2.program("count_cgroup"));
          expect(a.runningProgramId()).toBe(v2.program("count_cgroup").info().id);
          await receiver.expect(2);
          expect(Number(v1.variable("seen").get())).toBe(5);
          expect(Number(v1.variable("last_version").get())).toBe(2);
          // v1 is not attached any more: an update expecting it changes nothing.
          let error: unknown;
          try {
            a.update(v1.program("count_cgroup"), { expected: v1.program("count_cgroup").fd });
          } catch (e) {
            error = e;
          }
          expect((error as AttachError).code).toBe("ATTACH_REPLACED");
          a.detach();
          await receiver.expect(1);
          expect(Number(v1.variable("seen").get())).toBe(5);
        } finally {
          receiver.close();
        }
      } finally {
        pins.remove();
        cg.remove();
      }
    });
  }

  it("socket filter: SO_ATTACH_BPF counts and keeps packets, the replacement drops them, detach lets them through", async () => {
    const port = 40000 + ((process.pid + 7) % 20000);
    const pins = bpffsDir("xbpf-attach");
    const receiver = await udpReceiver(port);
    try {
      const spec = counterObject();
      using keep = spec.load({ programs: ["count_socket"], pinRoot: pins.dir });
      spec.set("socket_keep", 0);
      using drop = spec.load({ programs: ["count_socket"], pinRoot: pins.dir, reuseMaps: { ".bss": keep.map(".bss").fd } });
      using a = keep.program("count_socket").attach({ socket: { fd: receiver.fd } });
      expect(a.kind).toBe("socket");
      await receiver.expect(2);
      a.update(drop.program("count_socket"));
      await receiver.expect(0, 2);
      expect(Number(keep.variable("seen").get())).toBe(4);
      a.detach();
      await receiver.expect(1);
      expect(Number(keep.variable("seen").get())).toBe(4);
    } finally {
      receiver.close();
      pins.remove();
    }
  });

  it("cgroup: a cgroup link names its cgroup and attach type, and ends on dispose", () => {
    const cg = testCgroup();
    const pins = bpffsDir("xbpf-attach");
    try {
      using obj = counterObject().load({ programs: ["count_cgroup"], pinRoot: pins.dir });
      {
        using link = obj.program("count_cgroup").attach({ cgroup: { path: cg.path } });
        const info = link.info();
        expect(link.kind).toBe("cgroup");
        expect(info.attachType).toBe(AttachType.CGROUP_INET_INGRESS);
        expect(info.progId).toBe(obj.program("count_cgroup").info().id);
      }
    } finally {
      pins.remove();
      cg.remove();
    }
  });

  it("netns: sk_lookup attached to a network namespace", () => {
    needVeth();
    const pair = vethPair();
    try {
      using obj = openObject(fixture("sk_lookup")).load();
      using link = obj.program("lookup").attach({ netns: { path: `/run/netns/${pair.receiver.netns}` } });
      const info = link.info();
      expect(info.type).toBe(LinkType.NETNS);
      expect(info.attachType).toBe(AttachType.SK_LOOKUP);
    } finally {
      pair.remove();
    }
  });

  it("raw tracepoint: attached by its section's name, it runs", () => {
    requireProgTypeForTest("RAW_TRACEPOINT");
    using obj = openObject(fixture("core")).load();
    using link = obj.program("read_task").attach({ tracing: true });
    expect(link.info().tracepoint).toBe("sys_enter");
    readFileSync("/proc/self/stat");
    expect(Number(obj.variable("seen").getField(["task_size"]))).toBeGreaterThan(0);
  });

  it("refuses a point that does not suit the program, and an interface that does not exist", () => {
    const pins = bpffsDir("xbpf-attach");
    try {
      using obj = counterObject().load({ programs: ["count_tc", "count_xdp"], pinRoot: pins.dir });
      const code = (f: () => unknown) => {
        try {
          f();
        } catch (e) {
          return [(e as AttachError).code, (e as Error).message];
        }
        return undefined;
      };
      expect(code(() => obj.program("count_tc").attach({ xdp: { interface: "lo" } }))).toEqual(["ATTACH_BAD_POINT", expect.stringMatching(/cannot be attached to xdp/)]);
      expect(code(() => obj.program("count_xdp").attach({ xdp: { interface: "xbpf-none0" } }))).toEqual(["ATTACH_BAD_POINT", expect.stringMatching(/no interface xbpf-none0/)]);
      expect(progInfo(obj.program("count_xdp").fd).id).toBeGreaterThan(0);
    } finally {
      pins.remove();
    }
  });
});
