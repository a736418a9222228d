/** Run the CLI in-process (`main` from packages/cli/src/main.ts) and capture what it prints. */
import { main } from "@x/cli";

export interface XbpfResult {
  code: number;
  out: string;
  err: string;
  /** stdout parsed as JSON (throws when it is not JSON); the tests check its shape with expect. */
  // biome-ignore lint/suspicious/noExplicitAny: command output whose shape each test asserts
  json<T = any>(): T;
}

export async function xbpf(...argv: string[]): Promise<XbpfResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => void out.push(s), (s) => void err.push(s));
  const o = out.join("\n");
  return { code, out: o, err: err.join("\n"), json: () => JSON.parse(o) };
}

/** An Ethernet + IPv4 + UDP packet to `port` with `payload` bytes of payload, as hex for `--data`. */
export function udpPacketHex(port: number, payload = 18): string {
  const b = Buffer.alloc(14 + 20 + 8 + payload);
  b.writeUInt16BE(0x0800, 12); // ETH_P_IP
  b[14] = 0x45; // IPv4, IHL 5
  b.writeUInt16BE(20 + 8 + payload, 16); // total length
  b[22] = 64; // TTL
  b[23] = 17; // IPPROTO_UDP
  b.writeUInt32BE(0x0a000001, 26); // 10.0.0.1
  b.writeUInt32BE(0x0a000002, 30); // 10.0.0.2
  b.writeUInt16BE(40000, 34); // source port
  b.writeUInt16BE(port, 36); // destination port
  b.writeUInt16BE(8 + payload, 38);
  return b.toString("hex");
}
