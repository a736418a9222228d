/**
 * Object commands: pin/get on bpffs, info by fd, ids and fds by id.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { GetFdByIdAttr, GetInfoAttr, GetNextIdAttr, ObjAttr } from "./abi/attr.js";
import { BpfCmd } from "./abi/consts.js";
import { Errno } from "./abi/errno.js";
import { BtfInfoLayout, MapInfoLayout, ProgInfoLayout } from "./abi/info.js";
import { BpfSyscallError } from "./errors.js";
import { adoptFd, BtfFd, MapFd, ProgFd, rawFd, type BpfFd, type FdKind, type FdLike } from "./fd.js";
import { addressOf } from "./native.js";
import { bpf, bpfRaw } from "./syscall.js";
import { cString, decodeName, LE } from "./util.js";

/** `BPF_OBJ_PIN`: pin an object at `path` (on a bpffs mount, e.g. under `/sys/fs/bpf`). */
export function objPin(fd: FdLike, path: string): void {
  const p = cString(path);
  bpf(BpfCmd.OBJ_PIN, ObjAttr.encode({ pathname: addressOf(p), bpf_fd: rawFd(fd) }, LE));
  void p;
}

/** `file_flags` of {@link objGet}. */
export const ObjGetFlags = { BPF_F_RDONLY: 1 << 3, BPF_F_WRONLY: 1 << 4 } as const;

/**
 * `BPF_OBJ_GET`: open a pinned object. The handle class (`MapFd`, `ProgFd`, `BtfFd`, `LinkFd`)
 * follows the kind of object found.
 */
export function objGet(path: string, flags = 0): BpfFd {
  const p = cString(path);
  const fd = bpf(BpfCmd.OBJ_GET, ObjAttr.encode({ pathname: addressOf(p), file_flags: flags }, LE));
  void p;
  return adoptFd(fd);
}

function getInfo(fd: FdLike, info: Uint8Array): number {
  const attr = GetInfoAttr.encode({ bpf_fd: rawFd(fd), info_len: info.byteLength, info: addressOf(info) }, LE);
  bpf(BpfCmd.OBJ_GET_INFO_BY_FD, attr);
  return GetInfoAttr.read(attr, 0, LE).info_len;
}

/** Decoded `struct bpf_prog_info` (the most useful fields). */
export interface ProgInfo {
  type: number;
  id: number;
  /** Program tag (hash of the instructions), hex. */
  tag: string;
  name: string;
  jitedProgLen: number;
  xlatedProgLen: number;
  /** Boot time of the load, in nanoseconds. */
  loadTime: bigint;
  createdByUid: number;
  /** Ids of the maps the program uses. */
  mapIds: number[];
  gplCompatible: boolean;
  btfId: number;
  nrFuncInfo: number;
  nrLineInfo: number;
  runTimeNs: bigint;
  runCnt: bigint;
  recursionMisses: bigint;
  verifiedInsns: number;
  attachBtfObjId: number;
  attachBtfId: number;
  /** How many bytes of info the kernel filled in. */
  infoLen: number;
}

/**
 * The program's instructions as the verifier left them (`xlated_prog_insns`, what `bpftool prog dump
 * xlated` shows): maps by id, helpers by their kernel address offsets. Empty when the kernel hides them.
 */
export function progXlatedInsns(fd: FdLike): Uint8Array {
  const buf = new Uint8Array(ProgInfoLayout.size);
  getInfo(fd, buf);
  const len = ProgInfoLayout.read(buf, 0, LE).xlated_prog_len;
  if (!len) return new Uint8Array(0);
  const insns = new Uint8Array(len);
  const again = new Uint8Array(ProgInfoLayout.size);
  ProgInfoLayout.write(again, 0, { xlated_prog_len: len, xlated_prog_insns: addressOf(insns) }, LE);
  getInfo(fd, again);
  return insns.subarray(0, Math.min(len, ProgInfoLayout.read(again, 0, LE).xlated_prog_len));
}

/** `BPF_OBJ_GET_INFO_BY_FD` for a program (a second call fetches the map ids). */
export function progInfo(fd: FdLike): ProgInfo {
  const buf = new Uint8Array(ProgInfoLayout.size);
  const infoLen = getInfo(fd, buf);
  const r = ProgInfoLayout.read(buf, 0, LE);
  let mapIds: number[] = [];
  if (r.nr_map_ids > 0) {
    const ids = new Uint32Array(r.nr_map_ids);
    const again = new Uint8Array(ProgInfoLayout.size);
    ProgInfoLayout.write(again, 0, { nr_map_ids: ids.length, map_ids: addressOf(new Uint8Array(ids.buffer)) }, LE);
    getInfo(fd, again);
    const n = Math.min(ProgInfoLayout.read(again, 0, LE).nr_map_ids, ids.length);
    mapIds = Array.from(ids.subarray(0, n));
  }
  return {
    type: r.type,
    id: r.id,
    tag: Buffer.from(r.tag).toString("hex"),
    name: decodeName(r.name),
    jitedProgLen: r.jited_prog_len,
    xlatedProgLen: r.xlated_prog_len,
    loadTime: r.load_time,
    createdByUid: r.created_by_uid,
    mapIds,
    gplCompatible: (r.gpl_compatible & 1) === 1,
    btfId: r.btf_id,
    nrFuncInfo: r.nr_func_info,
    nrLineInfo: r.nr_line_info,
    runTimeNs: r.run_time_ns,
    runCnt: r.run_cnt,
    recursionMisses: r.recursion_misses,
    verifiedInsns: r.verified_insns,
    attachBtfObjId: r.attach_btf_obj_id,
    attachBtfId: r.attach_btf_id,
    infoLen,
  };
}

/** Decoded `struct bpf_map_info`. */
export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
  ifindex: number;
  btfVmlinuxValueTypeId: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  mapExtra: bigint;
  /** How many bytes of info the kernel filled in. */
  infoLen: number;
}

/** `BPF_OBJ_GET_INFO_BY_FD` for a map. */
export function mapInfo(fd: FdLike): MapInfo {
  const buf = new Uint8Array(MapInfoLayout.size);
  const infoLen = getInfo(fd, buf);
  const r = MapInfoLayout.read(buf, 0, LE);
  return {
    type: r.type,
    id: r.id,
    keySize: r.key_size,
    valueSize: r.value_size,
    maxEntries: r.max_entries,
    flags: r.map_flags,
    name: decodeName(r.name),
    ifindex: r.ifindex,
    btfVmlinuxValueTypeId: r.btf_vmlinux_value_type_id,
    btfId: r.btf_id,
    btfKeyTypeId: r.btf_key_type_id,
    btfValueTypeId: r.btf_value_type_id,
    mapExtra: r.map_extra,
    infoLen,
  };
}

/** Decoded `struct bpf_btf_info`. */
export interface BtfInfo {
  id: number;
  /** Size of the raw BTF. */
  btfSize: number;
  /** Name (`vmlinux`, a module name, or empty for user BTF). */
  name: string;
  /** Whether this is kernel (vmlinux or module) BTF. */
  kernelBtf: boolean;
  /** The raw BTF, when requested with `{ withData: true }`. */
  data?: Uint8Array;
  /** How many bytes of info the kernel filled in. */
  infoLen: number;
}

/** `BPF_OBJ_GET_INFO_BY_FD` for a BTF object; `withData` also fetches the raw BTF bytes. */
export function btfInfo(fd: FdLike, o: { withData?: boolean } = {}): BtfInfo {
  const name = new Uint8Array(64);
  const buf = new Uint8Array(BtfInfoLayout.size);
  BtfInfoLayout.write(buf, 0, { name: addressOf(name), name_len: name.byteLength }, LE);
  let infoLen: number;
  try {
    infoLen = getInfo(fd, buf);
  } catch (e) {
    // Before 5.11 bpf_btf_info ends at `id`, and the kernel refuses a non-zero tail (our name
    // pointer) with E2BIG: ask again with the old struct only.
    if (!(e instanceof BpfSyscallError) || e.errnoName !== "E2BIG") throw e;
    buf.fill(0);
    infoLen = getInfo(fd, buf.subarray(0, BtfInfoLayout.field("name").offset));
  }
  const r = BtfInfoLayout.read(buf, 0, LE);
  const out: BtfInfo = { id: r.id, btfSize: r.btf_size, name: decodeName(name), kernelBtf: r.kernel_btf !== 0, infoLen };
  if (o.withData && r.btf_size > 0) {
    const data = new Uint8Array(r.btf_size);
    const again = BtfInfoLayout.encode({ btf: addressOf(data), btf_size: data.byteLength }, LE);
    getInfo(fd, again);
    out.data = data;
  }
  return out;
}

/** Info of any BPF object, tagged by kind. */
export type ObjInfo = { kind: "prog"; info: ProgInfo } | { kind: "map"; info: MapInfo } | { kind: "btf"; info: BtfInfo };

/**
 * `BPF_OBJ_GET_INFO_BY_FD` for a program, map or BTF fd: the kind comes from the handle class,
 * or (for a raw number or an unknown handle) from the fd's anon inode name.
 */
export function objGetInfoByFd(fd: FdLike): ObjInfo {
  let kind: FdKind = typeof fd === "object" && "kind" in fd ? (fd as BpfFd).kind : "unknown";
  if (kind === "unknown") {
    const probe = adoptFd(rawFd(fd));
    kind = probe.kind;
    probe.release(); // borrowed: do not close the caller's fd
  }
  switch (kind) {
    case "prog": return { kind, info: progInfo(fd) };
    case "map": return { kind, info: mapInfo(fd) };
    case "btf": return { kind, info: btfInfo(fd) };
    default: throw new TypeError(`objGetInfoByFd: fd ${rawFd(fd)} is not a BPF program, map or BTF object`);
  }
}

function nextId(cmd: number, start: number): number | undefined {
  const attr = GetNextIdAttr.encode({ start_id: start }, LE);
  const r = bpfRaw(cmd, attr);
  if (r.result >= 0) return GetNextIdAttr.read(attr, 0, LE).next_id;
  if (r.errno === Errno.ENOENT) return undefined;
  throw new BpfSyscallError(cmd, r.errno);
}

/** `BPF_PROG_GET_NEXT_ID`: the smallest program id greater than `start`, or undefined at the end. */
export function progGetNextId(start = 0): number | undefined {
  return nextId(BpfCmd.PROG_GET_NEXT_ID, start);
}
/** `BPF_MAP_GET_NEXT_ID`: the smallest map id greater than `start`, or undefined at the end. */
export function mapGetNextId(start = 0): number | undefined {
  return nextId(BpfCmd.MAP_GET_NEXT_ID, start);
}
/** `BPF_BTF_GET_NEXT_ID`: the smallest BTF id greater than `start`, or undefined at the end. */
export function btfGetNextId(start = 0): number | undefined {
  return nextId(BpfCmd.BTF_GET_NEXT_ID, start);
}

/** `BPF_PROG_GET_FD_BY_ID`: open a program by id (throws ENOENT if it is gone). */
export function progGetFdById(id: number): ProgFd {
  return new ProgFd(bpf(BpfCmd.PROG_GET_FD_BY_ID, GetFdByIdAttr.encode({ prog_id: id }, LE)));
}
/** `BPF_MAP_GET_FD_BY_ID`: open a map by id; `openFlags` may be `BPF_F_RDONLY`/`BPF_F_WRONLY`. */
export function mapGetFdById(id: number, openFlags = 0): MapFd {
  return new MapFd(bpf(BpfCmd.MAP_GET_FD_BY_ID, GetFdByIdAttr.encode({ map_id: id, open_flags: openFlags }, LE)));
}
/** `BPF_BTF_GET_FD_BY_ID`: open a BTF object by id. */
export function btfGetFdById(id: number): BtfFd {
  return new BtfFd(bpf(BpfCmd.BTF_GET_FD_BY_ID, GetFdByIdAttr.encode({ btf_id: id }, LE)));
}

/** What `/proc/self/fdinfo/FD` says of a map that `bpf_map_info` does not. */
export interface MapFdInfo {
  /** Frozen with `BPF_MAP_FREEZE` (Linux 5.2): user space can no longer write it. */
  frozen: boolean;
}

/** The kernel's fdinfo of a map fd (`frozen` is false where the kernel does not print it). */
export function mapFdInfo(fd: FdLike): MapFdInfo {
  const text = readFileSync(`/proc/self/fdinfo/${rawFd(fd)}`, "utf8");
  return { frozen: /^frozen:\s*1$/m.test(text) };
}
