// Types of tools/traffic/replace-under-traffic.mjs's exports.

/** What one run of the scenario saw. */
export interface TrafficReplacement {
  mode: "tc" | "xdp";
  /** The attachment's kind: `tcx`, `xdp` (links), or `tc` / `xdp` through netlink. */
  attachment: string;
  /** Through a bpf link or through netlink. */
  via: "link" | "netlink";
  packets: number;
  rate: number;
  replacements: number;
  /** Datagrams the sender's kernel accepted, and refused. */
  sent: number;
  failed: number;
  /** Packets counted in the pinned map, over all versions, and in the carried `.bss`. */
  counted: number;
  seen: number;
  /** How many versions counted at least one packet. */
  versionsCounting: number;
  lastVersion: number;
  perVersion: number[];
  trafficMs: number;
  replaceMs: number;
  /** Time of one replaceProgram (load of the new version and the swap), in ms. */
  swapMs: { median: number; max: number };
}

/** Attach counter.bpf.o on a veth pair and replace it `replacements` times while `packets` flow. */
export function replaceUnderTraffic(options?: { mode?: "tc" | "xdp"; via?: "link" | "netlink"; replacements?: number; packets?: number; rate?: number; object?: string }): Promise<TrafficReplacement>;
