// Types of tools/traffic/topology.mjs's exports.

/** One end of the pair: its namespace, interface and IPv4 address. */
export interface VethEnd {
  netns: string;
  iface: string;
  addr: string;
  mac: string;
}

/** Two network namespaces joined by a veth pair; remove() deletes both. */
export function vethPair(prefix?: string): { sender: VethEnd; receiver: VethEnd; remove(): void };

/** Send `count` UDP datagrams from `netns` to `to:port` at `rate` per second, from a child process. */
export function sendUdp(options: { netns: string; to: string; port: number; count: number; rate: number; deadlineMs?: number }): Promise<{ sent: number; failed: number; ms: number }>;
