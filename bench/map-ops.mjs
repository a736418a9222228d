// Map-operations benchmark: one element lookup and update on a 4-entry array map, per call, through
// @x/sys (mapLookup / mapUpdate), through @x/loader's LoadedMap, and libbpf's bpf_map_lookup_elem /
// bpf_map_update_elem (bench/c/libbpf-mapops.c) in the same run; then a live global read and written
// through mmap, which makes no syscall at all (the count of bpf(2) calls is printed to show it).
import { execFileSync } from "node:child_process";
import { openObject } from "../packages/loader/dist/index.js";
import { MapType, mapCreate, mapLookup, mapUpdate } from "../packages/sys/dist/index.js";
import { enableSyscallTiming, resetSyscallStats, syscallStats } from "../packages/sys/dist/syscall.js";
import { N, now, ratio, root, table, warmup } from "./lib.mjs";

const BATCH = 1000;
/** The median over n batches of the ns per call of `op`. */
function perCall(n, op) {
  const samples = [];
  for (let it = -warmup(n); it < n; it++) {
    const t0 = now();
    for (let i = 0; i < BATCH; i++) op();
    if (it >= 0) samples.push((now() - t0) / BATCH);
  }
  samples.sort((a, b) => a - b);
  const m = samples.length >> 1;
  return samples.length % 2 ? samples[m] : (samples[m - 1] + samples[m]) / 2;
}

const n = Math.max(20, Math.floor(N / 10));
const ref = JSON.parse(execFileSync(`${root}bench/out/libbpf-mapops`, [String(n)], { encoding: "utf8" }));

const map = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, name: "bench" });
const key = new Uint8Array(4);
const value = new Uint8Array(8);
const sysLookup = perCall(n, () => mapLookup(map, key, value));
const sysUpdate = perCall(n, () => mapUpdate(map, key, value));

const obj = openObject(`${root}fixtures/obj/example.bpf.o`).load();
const bss = obj.map(".bss");
const bssKey = new Uint8Array(4);
const loadedLookup = perCall(n, () => bss.lookup(bssKey));
const counter = obj.variable("packets_seen");
enableSyscallTiming(true);
resetSyscallStats();
let v = 0n;
const liveGet = perCall(n, () => { v += counter.get(); });
const liveSet = perCall(n, () => counter.set(v & 0xffn));
const liveCalls = syscallStats().calls;
enableSyscallTiming(false);

obj.dispose();
map.close();

const f = (x) => x.toFixed(0);
table(`Map operations (median ns per call over ${n} batches of ${BATCH}; 4-entry array map, 4-byte key, 8-byte value)`, ["operation", "@x ns", "libbpf ns", "ratio"], [
  ["lookup: @x/sys mapLookup vs bpf_map_lookup_elem", f(sysLookup), f(ref.lookup_ns), ratio(sysLookup, ref.lookup_ns)],
  ["update: @x/sys mapUpdate vs bpf_map_update_elem", f(sysUpdate), f(ref.update_ns), ratio(sysUpdate, ref.update_ns)],
  ["lookup: @x/loader LoadedMap.lookup (.bss of example.bpf.o, 48-byte value)", f(loadedLookup), f(ref.lookup_ns), ratio(loadedLookup, ref.lookup_ns)],
  [`live global get, through mmap (packets_seen; bpf(2) calls: ${liveCalls})`, f(liveGet), "–", "–"],
  [`live global set, through mmap (packets_seen; bpf(2) calls: ${liveCalls})`, f(liveSet), "–", "–"],
]);
