/** CPU counts the kernel sizes per-CPU things by. */
import { readFileSync } from "node:fs";
import { MapType } from "@x/sys/abi";

let cpus: number | undefined;

/** Possible CPUs, read like libbpf_num_possible_cpus: "0-3,5" → 6 (highest + 1). Cached. */
export function possibleCpus(): number {
  if (cpus === undefined) {
    try {
      const text = readFileSync("/sys/devices/system/cpu/possible", "utf8").trim();
      cpus = Math.max(...text.split(",").map((r) => Number(r.split("-").pop()))) + 1;
    } catch {
      cpus = 1;
    }
  }
  return cpus;
}

const PER_CPU_MAPS: ReadonlySet<number> = new Set([MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH, MapType.PERCPU_CGROUP_STORAGE]);

/**
 * Bytes of one value as user space reads and writes it: for per-CPU maps the kernel copies one
 * 8-byte-aligned slot per possible CPU, so a buffer of `value_size` would be overrun.
 */
export function userValueSize(type: number, valueSize: number): number {
  return PER_CPU_MAPS.has(type) ? Math.ceil(valueSize / 8) * 8 * possibleCpus() : valueSize;
}
