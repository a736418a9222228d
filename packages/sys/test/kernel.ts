/**
 * Shared guard for kernel tests: they need root and a working bpf(2). Outside CI a missing
 * kernel skips the suite with a warning; in CI (process.env.CI set) it is a loud failure.
 */
import { HOST_LITTLE_ENDIAN } from "@x/elf/layout";
import { encodeInstructions, type Instruction } from "@x/reloc";
import { BpfCmd, bpfRaw, MapCreateAttr, MapFd } from "@x/sys";

function check(): string | undefined {
  if (process.platform !== "linux") return `not Linux (${process.platform})`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "not running as root";
  try {
    const attr = MapCreateAttr.encode({ map_type: 2, key_size: 4, value_size: 4, max_entries: 1 }, HOST_LITTLE_ENDIAN);
    const r = bpfRaw(BpfCmd.MAP_CREATE, attr);
    if (r.result < 0) return `bpf(BPF_MAP_CREATE) failed with errno ${r.errno}`;
    new MapFd(r.result).close();
  } catch (e) {
    return `bpf(2) unavailable: ${(e as Error).message}`;
  }
  return undefined;
}

const reason = check();
if (reason && process.env.CI) {
  throw new Error(`kernel tests cannot run in CI: ${reason}. These tests need root and bpf(2); refusing to skip silently.`);
}
if (reason) console.warn(`[@x/sys] skipping kernel tests: ${reason}`);

/** True when kernel tests can run here. */
export const haveKernel = reason === undefined;

/** Instructions as bytes for `progLoad` (host byte order): `encodeInsns([asm.mov64Imm(0, 42), asm.exit()])`. */
export const encodeInsns = (insns: readonly Instruction[]): Uint8Array => encodeInstructions(insns, HOST_LITTLE_ENDIAN);
