#!/usr/bin/env node
// Sends COUNT UDP datagrams to ADDR:PORT at RATE per second, then prints how many the kernel took
// (`{"sent":N,"failed":M}`). Bounded in count and in time: it stops at DEADLINE_MS whatever is left.
// Run inside a network namespace: ip netns exec NS node udp-sender.mjs ADDR PORT COUNT RATE DEADLINE_MS
import { createSocket } from "node:dgram";

const [addr, port, count, rate, deadline] = process.argv.slice(2);
const total = Number(count), perSecond = Number(rate), until = Date.now() + Number(deadline ?? 60_000);
if (!addr || !Number.isInteger(total) || !(perSecond > 0)) {
  console.error("usage: udp-sender.mjs ADDR PORT COUNT RATE [DEADLINE_MS]");
  process.exit(2);
}
const socket = createSocket("udp4");
const payload = Buffer.alloc(32);
let queued = 0, sent = 0, failed = 0;
const start = Date.now();

function done() {
  socket.close();
  process.stdout.write(`${JSON.stringify({ sent, failed, ms: Date.now() - start })}\n`);
}

// Each tick sends what the rate allows by now: a steady rate, whatever the timer's granularity.
function tick() {
  const due = Math.min(total, Math.floor(((Date.now() - start) * perSecond) / 1000) + 1);
  while (queued < due) {
    queued++;
    payload.writeUInt32LE(queued, 0);
    socket.send(payload, Number(port), addr, (e) => {
      if (e) failed++;
      else sent++;
      if (sent + failed === queued && (queued === total || Date.now() > until)) done();
    });
  }
  if (queued < total && Date.now() <= until) setTimeout(tick, 1);
}
tick();
