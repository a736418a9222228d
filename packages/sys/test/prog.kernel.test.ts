import { describe, expect, it } from "vitest";
import {
  BpfSyscallError,
  MapType,
  ProgType,
  mapCreate,
  mapInfo,
  progBindMap,
  progInfo,
  progLoad,
  progTestRun,
} from "@x/sys";
import { asm } from "@x/reloc";
import { encodeInsns, haveKernel } from "./kernel.js";
import { BpfCmd, ProgLoadAttr } from "@x/sys";
import { loadWithLog } from "../src/log.js";
import { addressOf } from "../src/native.js";

const r0is42 = () => encodeInsns([asm.mov64Imm(0, 42), asm.exit()]);
const packet = () => new Uint8Array(64).fill(0xab);

describe.runIf(haveKernel)("programs", () => {
  it("loads r0 = 42; exit and test-runs it", () => {
    using prog = progLoad({ type: ProgType.SOCKET_FILTER, insns: r0is42(), license: "GPL", name: "x_ret42" });
    const r = progTestRun(prog, { data: packet(), repeat: 3 });
    expect(r.retval).toBe(42);
    expect(r.duration).toBeGreaterThanOrEqual(0);
    expect(r.dataOut?.byteLength).toBe(64);
    const info = progInfo(prog);
    expect(info).toMatchObject({ type: ProgType.SOCKET_FILTER, name: "x_ret42", gplCompatible: true });
    expect(info.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(info.xlatedProgLen).toBe(16);
  });

  it("a bad program fails with the verifier log attached", () => {
    // r0 is never written: "R0 !read_ok".
    const insns = encodeInsns([asm.exit()]);
    let err: unknown;
    try {
      progLoad({ type: ProgType.SOCKET_FILTER, insns, license: "GPL" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfSyscallError);
    const e = err as BpfSyscallError;
    expect(e.command).toBe("BPF_PROG_LOAD");
    expect(e.errnoName).toBe("EACCES");
    expect(e.log).toMatch(/R0 !read_ok/);
    expect(e.message).toMatch(/^BPF_PROG_LOAD failed: EACCES \(Permission denied\)\n/);
  });

  it("grows the log buffer when the log does not fit", () => {
    // 200 instructions of r0 = i, then an invalid exit-less end: a long log at level 2.
    const body = Array.from({ length: 400 }, (_, i) => asm.mov64Imm(1, i));
    const insns = encodeInsns([...body, asm.exit()]);
    let err: unknown;
    try {
      progLoad({ type: ProgType.SOCKET_FILTER, insns, license: "GPL", logLevel: 2, logSize: 256 });
    } catch (e) {
      err = e;
    }
    const e = err as BpfSyscallError;
    expect(e).toBeInstanceOf(BpfSyscallError);
    expect(e.errnoName).toBe("EACCES");
    expect(e.log!.length).toBeGreaterThan(256);
    expect(e.log).toMatch(/R0 !read_ok/);
  });

  it("returns the log on success when a log level is asked for", () => {
    using prog = progLoad({ type: ProgType.SOCKET_FILTER, insns: r0is42(), license: "GPL", logLevel: 2 });
    expect(prog.log).toMatch(/processed 2 insns/);
  });

  it("binds a map to a program", () => {
    using map = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    using prog = progLoad({ type: ProgType.SOCKET_FILTER, insns: r0is42(), license: "GPL" });
    progBindMap(prog, map);
    const info = progInfo(prog);
    expect(info.mapIds).toContain(mapInfo(map).id);
  });

  it("doubles the log buffer when the kernel does not report the needed size (pre-6.4)", () => {
    const insns = encodeInsns([...Array.from({ length: 300 }, (_, i) => asm.mov64Imm(1, i)), asm.exit()]);
    const license = new Uint8Array([71, 80, 76, 0]);
    const sizes: number[] = [];
    let err: BpfSyscallError | undefined;
    try {
      loadWithLog(
        BpfCmd.PROG_LOAD,
        {
          encode: (buf, level) => {
            sizes.push(buf?.byteLength ?? 0);
            return ProgLoadAttr.encode(
              {
                prog_type: ProgType.SOCKET_FILTER,
                insn_cnt: insns.byteLength / 8,
                insns: addressOf(insns),
                license: addressOf(license),
                log_level: level,
                log_size: buf?.byteLength ?? 0,
                log_buf: addressOf(buf),
              },
              true,
            );
          },
          trueSize: () => 0, // what an old kernel reports
        },
        0,
        128,
      );
    } catch (e) {
      err = e as BpfSyscallError;
    }
    expect(sizes[0]).toBe(0); // first attempt without a log
    expect(sizes.slice(1, 4)).toEqual([128, 256, 512]);
    expect(err?.errnoName).toBe("EACCES"); // the verifier's verdict, not ENOSPC
    expect(err?.log).toMatch(/R0 !read_ok/);
  });
});
