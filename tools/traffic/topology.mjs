// Two network namespaces joined by a veth pair, for traffic tests: the sender's end and the
// receiver's end, with addresses and static neighbour entries (no ARP to lose packets to). Nothing
// outside the two namespaces is touched, and remove() deletes both.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";

const SENDER = fileURLToPath(new URL("./udp-sender.mjs", import.meta.url));

function ip(...args) {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/**
 * Create the pair. Names carry a random tag, so concurrent runs do not meet.
 * @returns {{ sender: { netns: string, iface: string, addr: string }, receiver: { netns: string, iface: string, addr: string }, remove(): void }}
 */
export function vethPair(prefix = "xbpf") {
  const tag = randomBytes(3).toString("hex");
  const sender = { netns: `${prefix}-s-${tag}`, iface: "xs0", addr: "10.203.0.1", mac: "02:00:0a:cb:00:01" };
  const receiver = { netns: `${prefix}-r-${tag}`, iface: "xr0", addr: "10.203.0.2", mac: "02:00:0a:cb:00:02" };
  const remove = () => {
    for (const ns of [sender.netns, receiver.netns]) {
      try {
        ip("netns", "del", ns);
      } catch {
        // not created, or gone already
      }
    }
  };
  try {
    ip("netns", "add", sender.netns);
    ip("netns", "add", receiver.netns);
    ip("-n", sender.netns, "link", "add", sender.iface, "address", sender.mac, "type", "veth", "peer", "name", receiver.iface, "address", receiver.mac, "netns", receiver.netns);
    for (const [end, peer] of [[sender, receiver], [receiver, sender]]) {
      ip("-n", end.netns, "addr", "add", `${end.addr}/24`, "dev", end.iface);
      ip("-n", end.netns, "link", "set", end.iface, "up");
      ip("-n", end.netns, "link", "set", "lo", "up");
      ip("-n", end.netns, "neigh", "replace", peer.addr, "lladdr", peer.mac, "dev", end.iface, "nud", "permanent");
    }
  } catch (e) {
    remove();
    throw new Error(`cannot build the veth pair: ${e.stderr?.toString().trim() || e.message}`);
  }
  return { sender, receiver, remove };
}

/**
 * Send `count` UDP datagrams from the sender's namespace to `to:port` at `rate` per second, from a
 * separate process (so it runs while this one works). Resolves with what the kernel accepted.
 * @returns {Promise<{ sent: number, failed: number, ms: number }>}
 */
export function sendUdp({ netns, to, port, count, rate, deadlineMs = 120_000 }) {
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", netns, process.execPath, SENDER, to, String(port), String(count), String(rate), String(deadlineMs)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), deadlineMs + 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`udp sender exited ${code}: ${err.trim()}`));
      resolve(JSON.parse(out));
    });
  });
}
