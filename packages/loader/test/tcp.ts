/**
 * A TCP connection over loopback for kernel tests, with the congestion control of its sockets set and
 * read through setsockopt/getsockopt(TCP_CONGESTION) (Node has no API for it). Node and @x/sys only.
 */
import { once } from "node:events";
import { createServer, connect, type Socket } from "node:net";
import { koffi } from "../../sys/src/native.js";

const IPPROTO_TCP = 6;
const TCP_CONGESTION = 13;

interface Sockopt {
  set: (fd: number, level: number, name: number, value: Uint8Array, len: number) => number;
  get: (fd: number, level: number, name: number, value: Uint8Array, len: Uint32Array) => number;
}
let calls: Sockopt | undefined;
function sockopt(): Sockopt {
  if (calls) return calls;
  const k = koffi();
  const lib = k.load("libc.so.6");
  calls = {
    set: lib.func("int setsockopt(int fd, int level, int name, const uint8_t *value, uint32_t len)") as Sockopt["set"],
    get: lib.func("int getsockopt(int fd, int level, int name, _Out_ uint8_t *value, _Inout_ uint32_t *len)") as Sockopt["get"],
  };
  return calls;
}

/** The fd of a connected Node socket (Linux: its libuv handle's). */
export function socketFd(s: Socket): number {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) throw new Error("no fd for this socket");
  return fd;
}

/** setsockopt(TCP_CONGESTION): the errno name on failure, undefined on success. */
export function setCongestion(s: Socket, name: string): string | undefined {
  const v = new TextEncoder().encode(`${name}\0`);
  if (sockopt().set(socketFd(s), IPPROTO_TCP, TCP_CONGESTION, v, v.length) === 0) return undefined;
  const errno = koffi().errno();
  return errno === 2 ? "ENOENT" : `errno ${errno}`;
}

/** getsockopt(TCP_CONGESTION). */
export function congestion(s: Socket): string {
  const v = new Uint8Array(16);
  const len = new Uint32Array([16]);
  if (sockopt().get(socketFd(s), IPPROTO_TCP, TCP_CONGESTION, v, len) !== 0) throw new Error(`getsockopt(TCP_CONGESTION): errno ${koffi().errno()}`);
  return new TextDecoder().decode(v.subarray(0, v.indexOf(0) < 0 ? len[0] : v.indexOf(0)));
}

/** A connected pair over 127.0.0.1: `client`, the server's `peer`, and `close()`. */
export async function tcpPair(): Promise<{ client: Socket; peer: Socket; send(bytes: number): Promise<void>; close(): void }> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  const accepted = once(server, "connection");
  const client = connect(port, "127.0.0.1");
  await once(client, "connect");
  const [peer] = (await accepted) as [Socket];
  return {
    client,
    peer,
    async send(bytes: number) {
      let got = 0;
      const done = new Promise<void>((resolve) => peer.on("data", (d: Buffer) => ((got += d.length) >= bytes ? resolve() : undefined)));
      client.write(Buffer.alloc(bytes, 7));
      await done;
    },
    close() {
      client.destroy();
      peer.destroy();
      server.close();
    },
  };
}
