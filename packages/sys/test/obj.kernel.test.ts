import { existsSync, mkdirSync, rmSync } from "node:fs";
import { execSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MapFd,
  MapType,
  ProgFd,
  ProgType,
  btfGetNextId,
  btfInfo,
  btfLoad,
  buildBtf,
  mapCreate,
  mapGetFdById,
  mapGetNextId,
  mapInfo,
  mapLookup,
  mapUpdate,
  objGet,
  objGetInfoByFd,
  objPin,
  progGetFdById,
  progGetNextId,
  progInfo,
  progLoad,
} from "@x/sys";
import { asm } from "@x/reloc";
import { encodeInsns, haveKernel } from "./kernel.js";

const dir = `/sys/fs/bpf/x-sys-test-${process.pid}`;
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);

describe.runIf(haveKernel)("objects: pin, get, ids", () => {
  beforeAll(() => {
    if (!existsSync("/sys/fs/bpf/") || !execSync("mount").toString().includes("/sys/fs/bpf")) {
      execSync("mount -t bpf bpf /sys/fs/bpf");
    }
    mkdirSync(dir, { recursive: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("pins a map and a program, gets them back with the same ids", () => {
    using map = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, name: "x_pinned" });
    mapUpdate(map, u32(1), u32(1234));
    objPin(map, `${dir}/map`);
    using again = objGet(`${dir}/map`);
    expect(again).toBeInstanceOf(MapFd);
    expect(again.kind).toBe("map");
    expect(mapInfo(again).id).toBe(mapInfo(map).id);
    const v = new Uint8Array(4);
    mapLookup(again, u32(1), v);
    expect(v).toEqual(u32(1234));

    using prog = progLoad({ type: ProgType.SOCKET_FILTER, insns: encodeInsns([asm.mov64Imm(0, 1), asm.exit()]), license: "GPL" });
    objPin(prog, `${dir}/prog`);
    using p2 = objGet(`${dir}/prog`);
    expect(p2).toBeInstanceOf(ProgFd);
    expect(progInfo(p2).id).toBe(progInfo(prog).id);
    expect(objGetInfoByFd(p2.fd)).toMatchObject({ kind: "prog", info: { id: progInfo(prog).id } });
    expect(objGetInfoByFd(again)).toMatchObject({ kind: "map", info: { name: "x_pinned" } });
    expect(p2.closed).toBe(false);

    expect(() => objPin(map, `${dir}/map`)).toThrow(/BPF_OBJ_PIN failed: EEXIST/);
    expect(() => objGet(`${dir}/missing`)).toThrow(/BPF_OBJ_GET failed: ENOENT/);
  });

  it("walks ids and opens objects by id", () => {
    using map = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    const id = mapInfo(map).id;
    const ids: number[] = [];
    for (let cur = mapGetNextId(0); cur !== undefined; cur = mapGetNextId(cur)) ids.push(cur);
    expect(ids).toContain(id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    using byId = mapGetFdById(id);
    expect(mapInfo(byId).id).toBe(id);

    using prog = progLoad({ type: ProgType.SOCKET_FILTER, insns: encodeInsns([asm.mov64Imm(0, 1), asm.exit()]), license: "GPL" });
    const pid = progInfo(prog).id;
    expect(progGetNextId(pid - 1)).toBe(pid);
    using p = progGetFdById(pid);
    expect(progInfo(p).id).toBe(pid);

    // A BTF object we load is found by id (vmlinux BTF only has an id from 5.11 on).
    // One INT named "int": name_off 1, info kind INT, size 4, encoding signed 32 bits.
    using btf = btfLoad(buildBtf([1, 0x01000000, 4, 0x01000020], "\0int"));
    const bid = btfInfo(btf).id;
    expect(btfGetNextId(bid - 1)).toBe(bid);
    expect(() => progGetFdById(0x7ffffff0)).toThrow(/BPF_PROG_GET_FD_BY_ID failed: ENOENT/);
  });
});
