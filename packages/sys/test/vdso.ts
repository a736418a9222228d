/**
 * The running kernel's own `LINUX_VERSION_CODE`, read from the vDSO's `Linux` ELF note (x86_64 and
 * arm64 vDSOs carry one: `ELFNOTE(Linux, 0, LINUX_VERSION_CODE)`), so a test can check
 * `LINUX_KERNEL_VERSION` as libbpf computes it against what the kernel was built as. Node only: the
 * vDSO's range from `/proc/self/maps`, its bytes from `/proc/self/mem`.
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";

const PT_NOTE = 4;

/** The vDSO's `LINUX_VERSION_CODE`, or a string saying why it could not be read. */
export function vdsoLinuxVersionCode(): number | string {
  const line = readFileSync("/proc/self/maps", "utf8").split("\n").find((l) => l.endsWith("[vdso]"));
  if (!line) return "no [vdso] in /proc/self/maps";
  const [start, end] = line.split(" ")[0]!.split("-").map((h) => Number.parseInt(h, 16)) as [number, number];
  const image = Buffer.alloc(end - start);
  const fd = openSync("/proc/self/mem", "r");
  try {
    readSync(fd, image, 0, image.length, start);
  } finally {
    closeSync(fd);
  }
  if (image.readUInt32BE(0) !== 0x7f454c46 || image[4] !== 2) return "the vDSO is not ELF64";
  const phoff = Number(image.readBigUInt64LE(0x20));
  const phentsize = image.readUInt16LE(0x36), phnum = image.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (image.readUInt32LE(ph) !== PT_NOTE) continue;
    const off = Number(image.readBigUInt64LE(ph + 8)), size = Number(image.readBigUInt64LE(ph + 32));
    for (let n = off; n + 12 <= off + size; ) {
      const namesz = image.readUInt32LE(n), descsz = image.readUInt32LE(n + 4), type = image.readUInt32LE(n + 8);
      const name = image.toString("latin1", n + 12, n + 12 + namesz).replace(/\0+$/, "");
      const desc = n + 12 + ((namesz + 3) & ~3);
      if (name === "Linux" && type === 0 && descsz >= 4) return image.readUInt32LE(desc);
      n = desc + ((descsz + 3) & ~3);
    }
  }
  return "no Linux note in the vDSO";
}
