#!/usr/bin/env node
// The template workflow under traffic: a counting program (fixtures/obj/counter.bpf.o) attached on
// the receiving end of a veth pair, tc ingress or XDP, and replaced REPLACEMENTS times while a sender
// in the other namespace sends PACKETS UDP datagrams at a steady rate. Each version has its own
// `version` constant; every version counts into one map pinned by name and into a reused `.bss`.
// Every packet sent must be counted exactly once, across all versions.
//
//   node tools/traffic/replace-under-traffic.mjs [--mode tc|xdp] [--via link|netlink] [--replacements N] [--packets N] [--rate PPS] [--json]
import { mkdtempSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { openObject, replaceProgram } from "@x/loader";
import { sendUdp, vethPair } from "./topology.mjs";

const OBJECT = fileURLToPath(new URL("../../fixtures/obj/counter.bpf.o", import.meta.url));
const PORT = 9000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Run the scenario. Everything it makes (namespaces, pins, programs) is removed before it returns.
 * @param {{ mode?: "tc" | "xdp", via?: "link" | "netlink", replacements?: number, packets?: number, rate?: number, object?: string }} options
 */
export async function replaceUnderTraffic({ mode = "tc", via, replacements = 100, packets = 3000, rate = 1000, object = OBJECT } = {}) {
  const pair = vethPair();
  const pinRoot = mkdtempSync("/sys/fs/bpf/xbpf-traffic-");
  const program = mode === "xdp" ? "count_xdp" : "count_tc";
  const on = { interface: pair.receiver.iface, netns: pair.receiver.netns, ...(via ? { via } : {}) };
  const point = mode === "xdp" ? { xdp: on } : { tc: { ...on, direction: "ingress" } };
  const spec = openObject(object);
  spec.set("port", PORT);
  spec.set("version", 0);
  let current = spec.load({ programs: [program], pinRoot });
  let link;
  const swaps = [];
  try {
    link = current.program(program).attach(point);
    const traffic = sendUdp({ netns: pair.sender.netns, to: pair.receiver.addr, port: PORT, count: packets, rate });
    // Spread the replacements over the traffic's expected duration (back to back when loads are slower).
    const gap = Math.max(0, (packets / rate) * 1000 / (replacements + 1) - 1);
    const t0 = process.hrtime.bigint();
    for (let v = 1; v <= replacements; v++) {
      await sleep(gap);
      spec.set("version", v);
      const started = process.hrtime.bigint();
      const r = replaceProgram(link, spec, { program, pinRoot, reuseMaps: [".bss"] });
      swaps.push(Number(process.hrtime.bigint() - started) / 1e6);
      current.dispose();
      current = r.object;
    }
    const replaceMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const sent = await traffic;
    // Let the last packets through the stack before counting.
    await sleep(200);
    const counts = current.map("counts");
    const perVersion = [];
    for (let v = 0; v <= replacements; v++) {
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, v, true);
      perVersion.push(Number(new DataView(counts.lookup(key).buffer).getBigUint64(0, true)));
    }
    const counted = perVersion.reduce((a, b) => a + b, 0);
    const seen = Number(current.variable("seen").get());
    swaps.sort((a, b) => a - b);
    return {
      mode, attachment: link.kind, via: link.via, packets, rate, replacements,
      sent: sent.sent, failed: sent.failed, counted, seen,
      versionsCounting: perVersion.filter((n) => n > 0).length,
      lastVersion: Number(current.variable("last_version").get()),
      perVersion,
      trafficMs: sent.ms, replaceMs,
      swapMs: { median: swaps[swaps.length >> 1], max: swaps[swaps.length - 1] },
    };
  } finally {
    link?.close();
    current.dispose();
    rmSync(pinRoot, { recursive: true, force: true });
    pair.remove();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i < 0 ? dflt : args[i + 1];
  };
  try {
    const r = await replaceUnderTraffic({ mode: opt("mode", "tc"), via: opt("via", undefined), replacements: Number(opt("replacements", 100)), packets: Number(opt("packets", 3000)), rate: Number(opt("rate", 1000)) });
    if (args.includes("--json")) console.log(JSON.stringify(r));
    else {
      console.log(`${r.mode} (${r.attachment} through ${r.via}): ${r.sent} packets sent, ${r.counted} counted (${r.seen} in the carried .bss) by ${r.versionsCounting} of ${r.replacements + 1} versions`);
      console.log(`${r.replacements} replacements in ${r.replaceMs.toFixed(0)} ms (swap median ${r.swapMs.median.toFixed(2)} ms, max ${r.swapMs.max.toFixed(2)} ms) during ${r.trafficMs} ms of traffic`);
    }
    process.exit(r.sent === r.counted && r.seen === r.counted ? 0 : 1);
  } catch (e) {
    console.error(`error: ${e.message}`);
    process.exit(2);
  }
}
