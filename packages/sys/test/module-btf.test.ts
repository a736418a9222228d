// The module BTF walk (libbpf load_module_btfs) against a fake id space: which objects are kept,
// ids that vanish between GET_NEXT_ID and GET_FD_BY_ID, errors, kernels without module BTF, and
// the per-id bytes cache. The real kernel's walk is in kernel-btf-objects.kernel.test.ts.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { BpfCmd, BpfSyscallError, Errno } from "@x/sys";

interface FakeBtf { id: number; name: string; kernelBtf: boolean; bytes: Uint8Array }

const fake = vi.hoisted(() => ({
  objects: [] as FakeBtf[],
  /** Ids whose GET_FD_BY_ID fails with this errno (ENOENT: freed in between). */
  fdErrno: new Map<number, number>(),
  nextIdErrno: undefined as number | undefined,
  moduleBtf: true,
  dataReads: 0,
  open: 0,
}));

vi.mock("../src/probes/features.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../src/probes/features.js")>()),
  hasFeature: (name: string) => {
    if (name !== "module_btf") throw new Error(`unexpected probe ${name}`);
    return fake.moduleBtf;
  },
}));

vi.mock("../src/obj.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/obj.js")>();
  const { BpfSyscallError: Err } = await import("../src/errors.js");
  const { BpfCmd: Cmd } = await import("../src/abi/consts.js");
  const find = (fd: { id: number }) => fake.objects.find((o) => o.id === fd.id)!;
  return {
    ...real,
    btfGetNextId: (start = 0) => {
      if (fake.nextIdErrno !== undefined) throw new Err(Cmd.BTF_GET_NEXT_ID, fake.nextIdErrno);
      return fake.objects.map((o) => o.id).filter((id) => id > start).sort((a, b) => a - b)[0];
    },
    btfGetFdById: (id: number) => {
      const errno = fake.fdErrno.get(id);
      if (errno !== undefined) throw new Err(Cmd.BTF_GET_FD_BY_ID, errno);
      fake.open++;
      return { id, close: () => void fake.open-- };
    },
    btfInfo: (fd: { id: number }, o: { withData?: boolean } = {}) => {
      const b = find(fd);
      if (o.withData) fake.dataReads++;
      return { id: b.id, btfSize: b.bytes.byteLength, name: b.name, kernelBtf: b.kernelBtf, infoLen: 0, ...(o.withData ? { data: b.bytes.slice() } : {}) };
    },
  };
});

const { kernelBtfObjects, kernelModuleBtfs, moduleBtfCache, openBtfById } = await import("../src/kernel/module-btf.js");

const btf = (id: number, name: string, kernelBtf = true, size = 8): FakeBtf => ({ id, name, kernelBtf, bytes: new Uint8Array(size).fill(id) });

beforeEach(() => {
  fake.objects = [btf(1, "vmlinux", true, 64), btf(2, "virtio_rng"), btf(5, "", false), btf(7, "9p"), btf(9, "overlay")];
  fake.fdErrno = new Map();
  fake.nextIdErrno = undefined;
  fake.moduleBtf = true;
  fake.dataReads = 0;
  fake.open = 0;
  moduleBtfCache.clear();
});

describe("kernel BTF walk", () => {
  it("keeps kernel BTF other than vmlinux, in id order; user BTF is skipped; every fd is closed", () => {
    expect(kernelModuleBtfs().map((m) => [m.id, m.name, m.bytes[0]])).toEqual([[2, "virtio_rng", 2], [7, "9p", 7], [9, "overlay", 9]]);
    expect(kernelBtfObjects()).toEqual([
      { id: 1, name: "vmlinux", size: 64 },
      { id: 2, name: "virtio_rng", size: 8 },
      { id: 7, name: "9p", size: 8 },
      { id: 9, name: "overlay", size: 8 },
    ]);
    expect(fake.open).toBe(0);
  });

  it("an id that vanishes between GET_NEXT_ID and GET_FD_BY_ID (ENOENT) is skipped, as libbpf does", () => {
    fake.fdErrno.set(7, Errno.ENOENT);
    expect(kernelModuleBtfs().map((m) => m.name)).toEqual(["virtio_rng", "overlay"]);
  });

  it("any other error fails the walk (libbpf returns it), EPERM included (libbpf quietly loads no module BTF)", () => {
    fake.fdErrno.set(7, Errno.EPERM);
    expect(() => kernelModuleBtfs()).toThrow(expect.objectContaining({ command: "BPF_BTF_GET_FD_BY_ID", errnoName: "EPERM" }));
    expect(fake.open).toBe(0);
    fake.fdErrno.clear();
    fake.nextIdErrno = Errno.EPERM;
    expect(() => kernelModuleBtfs()).toThrow(BpfSyscallError);
  });

  it("before 5.11 (no module_btf) nothing is walked: no list, no bpf(2) call", () => {
    fake.moduleBtf = false;
    fake.nextIdErrno = Errno.EPERM; // would throw if walked
    expect(kernelModuleBtfs()).toEqual([]);
    expect(kernelBtfObjects()).toEqual([]);
  });

  it("bytes are read once per module id; the walk itself runs every call; gone ids leave the cache", () => {
    const first = kernelModuleBtfs();
    expect(fake.dataReads).toBe(3);
    expect(moduleBtfCache.size).toBe(3);
    const again = kernelModuleBtfs();
    expect(fake.dataReads).toBe(3);
    expect(again[0]!.bytes).toBe(first[0]!.bytes);
    // 9p unloaded, reloaded under a new id; overlay unloaded.
    fake.objects = fake.objects.filter((o) => o.id !== 7 && o.id !== 9);
    fake.objects.push(btf(11, "9p"));
    expect(kernelModuleBtfs().map((m) => [m.id, m.name])).toEqual([[2, "virtio_rng"], [11, "9p"]]);
    expect(fake.dataReads).toBe(4);
    expect(moduleBtfCache.size).toBe(2);
    // An id reused by another object (same id, different name or size) is read again.
    fake.objects = [btf(2, "other_module", true, 16)];
    expect(kernelModuleBtfs()[0]).toMatchObject({ id: 2, name: "other_module" });
    expect(fake.dataReads).toBe(5);
  });

  it("openBtfById says when the object is gone", () => {
    fake.fdErrno.set(7, Errno.ENOENT);
    let err: unknown;
    try {
      openBtfById(7);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfSyscallError);
    expect(err).toMatchObject({ cmd: BpfCmd.BTF_GET_FD_BY_ID, errnoName: "ENOENT" });
    expect((err as Error).message).toMatch(/BTF object 7 is gone: its module was unloaded since/);
    const fd = openBtfById(2);
    expect(fake.open).toBe(1);
    fd.close();
  });
});
