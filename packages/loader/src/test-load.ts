/**
 * @x as the loader of `runTests` (see test-runner.ts), and what the runner needs to know of this
 * machine: the two halves of `xbpf test` that touch the kernel.
 */
import { readFileSync } from "node:fs";
import { arch } from "node:os";
import { dirname, resolve } from "node:path";
import { progLoad } from "@x/sys";
import { ProgFlags, ProgType } from "@x/sys/abi";
import type { LoadedObject } from "./loaded.js";
import { openObject } from "./spec.js";
import { BPF_F_TEST_REG_INVARIANTS } from "./test-annotations.js";
import type { TestLoader, TestRunOptions } from "./test-runner.js";

const ARCH: Readonly<Record<string, string>> = { x64: "X86_64", arm64: "ARM64", riscv64: "RISCV64" };

/** The run's input, as test_loader's `do_prog_test_run`: 64 zero bytes in, room for 256 out. */
const TEST_DATA = 64;
const TEST_DATA_OUT = 256;

/**
 * What the runner needs of this machine: its architecture, test_progs' test flags where the kernel
 * takes them (`testing_prog_flags`: BPF_F_TEST_RND_HI32, BPF_F_TEST_REG_INVARIANTS), and why
 * unprivileged tests cannot run (they are not run yet; when unprivileged BPF is off, that is why).
 */
export function testEnvironment(): Omit<TestRunOptions, "filter"> {
  let testFlags = 0;
  for (const f of [ProgFlags.BPF_F_TEST_RND_HI32, BPF_F_TEST_REG_INVARIANTS]) {
    try {
      // r0 = 0; exit
      progLoad({ type: ProgType.SOCKET_FILTER, insns: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), license: "GPL", flags: f }).close();
      testFlags |= f;
    } catch {
      // Not on this kernel.
    }
  }
  let unprivileged: string;
  try {
    const v = readFileSync("/proc/sys/kernel/unprivileged_bpf_disabled", "utf8").trim();
    unprivileged = v === "0" ? "unprivileged tests are not run yet" : `kernel.unprivileged_bpf_disabled is ${v}`;
  } catch {
    unprivileged = "cannot read kernel.unprivileged_bpf_disabled";
  }
  return { arch: ARCH[arch()] ?? arch(), testFlags, unprivileged };
}

/**
 * @x loading the tests of the object at `path`: the target and its auxiliaries, the target with its
 * log level and flags, and (for `__retval`) one BPF_PROG_TEST_RUN with the object's struct_ops maps
 * registered, as test_loader does.
 */
export function objectTestLoader(path: string): TestLoader {
  return (req) => {
    let obj: LoadedObject;
    try {
      obj = openObject(path).load({
        programs: req.programs,
        programOptions: { [req.target]: { logLevel: req.logLevel, flags: req.flags } },
        btf: req.btfPath ? resolve(dirname(path), req.btfPath) : undefined,
      });
    } catch (e) {
      // The verifier's log, also under an UnsupportedFeatureError explaining the refusal.
      const err = e as Error & { log?: string; cause?: { log?: string } };
      return { loaded: false, log: err.log ?? err.cause?.log ?? "", error: err.message.split("\n")[0] };
    }
    try {
      const p = obj.program(req.target);
      const log = p.log ?? "";
      if (!req.run) return { loaded: true, log };
      const registered = [...obj.structOpsMaps.values()].map((m) => m.register());
      try {
        // Syscall programs run without data (test_loader's empty_opts).
        const r = p.spec.kind?.progType === ProgType.SYSCALL ? p.testRun({}) : p.testRun({ data: new Uint8Array(TEST_DATA), dataSizeOut: TEST_DATA_OUT, repeat: 1 });
        return { loaded: true, log, retval: r.retval | 0 };
      } catch (e) {
        return { loaded: true, log, runError: (e as Error).message.split("\n")[0] };
      } finally {
        for (const r of registered) r.unregister();
      }
    } finally {
      obj.dispose();
    }
  };
}
