/**
 * Kernel feature probes: each tries the smallest thing that needs the feature (the same
 * programs, maps and BTF blobs as libbpf's `features.c`). A probe answers `supported`,
 * `missing` or `unknown` (it could not tell: see `outcome.ts` for what each errno means).
 * `supported` and `missing` are cached for the process; `unknown` is not (the next call probes
 * again: the cause, such as too many open files, may be gone).
 *
 * @packageDocumentation
 */
import { asm, encodeInstructions, PseudoLd, type Instruction } from "@x/reloc";
import { existsSync } from "node:fs";
import { AttachType, MapFlags, MapType, ProgType } from "../abi/consts.js";
import { BtfInfoLayout } from "../abi/info.js";
import { btfLoad } from "../btf.js";
import { BpfSyscallError, UnsupportedFeatureError } from "../errors.js";
import { VMLINUX_BTF_PATH, vmlinuxBtfBytes } from "../kernel/vmlinux.js";
import { linkCreate } from "../link.js";
import { mapCreate, mapFreeze } from "../map.js";
import { btfInfo as btfObjInfo } from "../obj.js";
import { progBindMap, progLoad } from "../prog.js";
import { LE } from "../util.js";
import { buildBtf, btfInfo as info, btfInt, btfType, BtfKind, BTF_INT_SIGNED } from "./btf-blob.js";
import { ProbeAnswer, ProbeInconclusiveError, runProbe, type ClassifyOptions, type ProbeOutcome, type ProbeStatus } from "./outcome.js";
import { findKernelFuncIds, findNamedTypes } from "./vmlinux-funcs.js";

/** Names of the probed features. */
export type FeatureName =
  | "prog_name"
  | "global_data"
  | "btf"
  | "btf_func"
  | "btf_global_func"
  | "btf_datasec"
  | "btf_float"
  | "btf_decl_tag"
  | "btf_type_tag"
  | "btf_enum64"
  | "array_mmap"
  | "map_freeze"
  | "rdonly_prog"
  | "prog_bind_map"
  | "arena"
  | "ldimm64_full_range_off"
  | "struct_ops_link"
  | "btf_qmark_datasec"
  | "exp_attach_type"
  | "module_btf"
  | "bpf_link"
  | "perf_link"
  | "kfunc_call"
  | "fd_array"
  | "typed_ksym"
  | "bpf_cookie"
  | "tcx_link";

/** A feature: what it is, when it appeared, how to detect it. */
export interface FeatureInfo extends ClassifyOptions {
  /** Feature name. */
  readonly name: FeatureName;
  /** Kernel version that introduced it (upstream). */
  readonly minKernel: string;
  /** One line: what the kernel can do when it has the feature. */
  readonly description: string;
  /**
   * Returns when the kernel has the feature; otherwise throws, and the error decides between
   * `missing` and `unknown` (`classifyProbeError` with this feature's {@link ClassifyOptions}).
   */
  readonly probe: () => void;
}

/** Outcome of one feature probe. */
export interface ProbeResult extends ProbeOutcome {
  /** Feature name. */
  name: FeatureName;
  /** Kernel version that introduced it. */
  minKernel: string;
  /** What the feature is. */
  description: string;
  /** `status === "supported"`. */
  supported: boolean;
}

export type { ProbeStatus };

const GPL = "GPL";
/** `BPF_FUNC_get_attach_cookie` (uapi `enum bpf_func_id`). */
const BPF_FUNC_get_attach_cookie = 174;
const encode = (insns: readonly Instruction[]): Uint8Array => encodeInstructions(insns, LE);
const trivial = (): Uint8Array => encode([asm.mov64Imm(0, 0), asm.exit()]);

function loadsBtf(types: number[], strings: string): void {
  btfLoad(buildBtf(types, strings)).close();
}

function arrayMap(flags = 0, valueSize = 4) {
  return mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize, maxEntries: 1, flags });
}

const INT = (name: number) => btfInt(name, BTF_INT_SIGNED, 0, 32, 4);

/**
 * LINK_CREATE with a bad target fd: EBADF means the kernel knows the command and the attach type
 * (EINVAL: it knows neither). A link on fd -1 cannot succeed: if it does, the probe cannot tell.
 */
function linkCreateGivesEbadf(progType: number, attachType: number, expectedAttachType?: number): void {
  using prog = progLoad({ type: progType, insns: trivial(), license: GPL, expectedAttachType });
  try {
    linkCreate(prog, { target: -1, attachType }).close();
  } catch (e) {
    if (e instanceof BpfSyscallError && e.errnoName === "EBADF") return;
    throw e;
  }
  throw new ProbeAnswer("unknown", "BPF_LINK_CREATE unexpectedly succeeded on fd -1");
}

/**
 * The BTF ids of `names` in the kernel's BTF. No BTF at all (sysfs is mounted but has no
 * `/sys/kernel/btf/vmlinux`) and a BTF without the functions are `missing`; a file that
 * cannot be read or walked (or no sysfs to look in) is `unknown`.
 */
function kernelFuncIds(names: readonly string[]): Map<string, number> {
  let ids: Map<string, number>;
  try {
    ids = findKernelFuncIds(names);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const errno = typeof code === "string" ? code : undefined;
    const why = (e as Error).message.split("\n")[0]!;
    if (errno === "ENOENT" && existsSync("/sys/kernel")) {
      throw new ProbeAnswer("missing", `the kernel has no BTF (no ${VMLINUX_BTF_PATH}), so no kfuncs`, errno);
    }
    throw new ProbeAnswer("unknown", `cannot read the kernel's BTF: ${why}`, errno);
  }
  const missing = names.filter((n) => !ids.has(n));
  if (missing.length) throw new ProbeAnswer("missing", `the kernel's BTF has no FUNC ${missing.join(", ")}`);
  return ids;
}

/** The kernel's STRUCTs named `names` (id and size); missing ones make the probe's answer `missing`, as {@link kernelFuncIds}. */
function kernelStructs(names: readonly string[]): Map<string, { id: number; size: number }> {
  let found: Map<string, { id: number; size: number }>;
  try {
    found = findNamedTypes(vmlinuxBtfBytes(), names, BtfKind.STRUCT);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new ProbeAnswer(code === "ENOENT" && existsSync("/sys/kernel") ? "missing" : "unknown", `cannot read the kernel's BTF: ${(e as Error).message.split("\n")[0]}`, typeof code === "string" ? code : undefined);
  }
  const missing = names.filter((n) => !found.has(n));
  if (missing.length) throw new ProbeAnswer("missing", `the kernel's BTF has no STRUCT ${missing.join(", ")}`);
  return found;
}

/**
 * A BTF id no kernel BTF has: the typed-ksym probe asks the verifier to resolve it, and only a
 * verifier that knows `BPF_PSEUDO_BTF_ID` answers "invalid btf_id" (ENOENT).
 */
const NO_SUCH_BTF_ID = 0x7fffffff;

/**
 * Typed ksyms: `ld_imm64` with `BPF_PSEUDO_BTF_ID` and a vmlinux BTF id that cannot exist. The
 * kernel's `check_pseudo_btf_id` (5.10) looks the id up in vmlinux's BTF before anything else
 * and fails with ENOENT "ldimm64 insn specifies invalid btf_id": that answer is `supported`.
 * Older verifiers refuse the unknown `src_reg` with EINVAL ("unrecognized bpf_ld_imm64 insn"), and
 * a kernel without BTF says EINVAL "kernel is missing BTF": `missing`.
 *
 * Not a real variable: the kernel resolves a typed ksym's address with `kallsyms_lookup_name`,
 * and without `CONFIG_KALLSYMS_ALL` kallsyms has no variables at all (per-CPU ones included), so
 * "ldimm64 failed to find the address for kernel symbol" would say nothing about the feature.
 * Whether one variable resolves is a per-symbol question the load itself answers.
 */
function pseudoBtfIdGivesEnoent(): void {
  const insns = [...asm.ldImm64(1, PseudoLd.BTF_ID, NO_SUCH_BTF_ID, 0), asm.mov64Imm(0, 0), asm.exit()];
  try {
    progLoad({ type: ProgType.SOCKET_FILTER, insns: encode(insns), license: GPL }).close();
  } catch (e) {
    if (!(e instanceof BpfSyscallError) || e.errnoName !== "ENOENT") throw e;
    if (/invalid btf_id/.test(e.log ?? "")) return;
    throw new ProbeAnswer("unknown", `BPF_PROG_LOAD failed with ENOENT but not for the BTF id (${(e.log ?? "no verifier log").trim().split("\n").at(-1)})`, "ENOENT");
  }
  throw new ProbeAnswer("unknown", `a program with BTF id ${NO_SUCH_BTF_ID} in ld_imm64 unexpectedly loaded`);
}

/** Generic kfuncs any program type may call (kernel/bpf/helpers.c `common_btf_ids`, 6.2). */
const PROBE_KFUNCS = ["bpf_rcu_read_lock", "bpf_rcu_read_unlock"] as const;

const DEFS: readonly FeatureInfo[] = [
  {
    name: "prog_name",
    minKernel: "4.15",
    description: "programs and maps can be given names",
    probe: () => progLoad({ type: ProgType.SOCKET_FILTER, insns: trivial(), license: GPL, name: "x_nametest" }).close(),
  },
  {
    name: "global_data",
    minKernel: "5.2",
    description: "ld_imm64 with BPF_PSEUDO_MAP_VALUE (global variables in array maps)",
    verifierRejection: "missing",
    probe: () => {
      using map = arrayMap(0, 32);
      const insns = [...asm.ldImm64(1, PseudoLd.MAP_VALUE, map.fd, 0), asm.stMem("DW", 1, 0, 42), asm.mov64Imm(0, 0), asm.exit()];
      progLoad({ type: ProgType.SOCKET_FILTER, insns: encode(insns), license: GPL }).close();
    },
  },
  {
    name: "btf",
    minKernel: "4.18",
    description: "BTF can be loaded (BPF_BTF_LOAD)",
    probe: () => loadsBtf([...INT(1)], "\0int"),
  },
  {
    name: "btf_func",
    minKernel: "5.0",
    description: "BTF FUNC and FUNC_PROTO kinds (func info for programs)",
    probe: () =>
      loadsBtf(
        [...INT(1), ...btfType(0, info(BtfKind.FUNC_PROTO, 0, 1), 0), 7, 1, ...btfType(5, info(BtfKind.FUNC, 0, 0), 2)],
        "\0int\0x\0a",
      ),
  },
  {
    name: "btf_global_func",
    minKernel: "5.6",
    description: "BTF FUNC with global linkage (separately verified global functions)",
    probe: () =>
      loadsBtf(
        [...INT(1), ...btfType(0, info(BtfKind.FUNC_PROTO, 0, 1), 0), 7, 1, ...btfType(5, info(BtfKind.FUNC, 0, 1), 2)],
        "\0int\0x\0a",
      ),
  },
  {
    name: "btf_datasec",
    minKernel: "5.2",
    description: "BTF VAR and DATASEC kinds (typed global data sections)",
    probe: () =>
      loadsBtf(
        [...INT(0), ...btfType(1, info(BtfKind.VAR, 0, 0), 1), 0, ...btfType(3, info(BtfKind.DATASEC, 0, 1), 4), 2, 0, 4],
        "\0x\0.data",
      ),
  },
  {
    name: "btf_float",
    minKernel: "5.13",
    description: "BTF FLOAT kind",
    probe: () => loadsBtf([...btfType(1, info(BtfKind.FLOAT, 0, 0), 4)], "\0float"),
  },
  {
    name: "btf_decl_tag",
    minKernel: "5.16",
    description: "BTF DECL_TAG kind (btf_decl_tag attributes)",
    probe: () =>
      loadsBtf(
        [...INT(0), ...btfType(1, info(BtfKind.VAR, 0, 0), 1), 0, ...btfType(1, info(BtfKind.DECL_TAG, 0, 0), 2), 0xffffffff],
        "\0tag",
      ),
  },
  {
    name: "btf_type_tag",
    minKernel: "5.17",
    description: "BTF TYPE_TAG kind (btf_type_tag attributes on pointers)",
    probe: () =>
      loadsBtf(
        [...INT(0), ...btfType(1, info(BtfKind.TYPE_TAG, 0, 0), 1), ...btfType(0, info(BtfKind.PTR, 0, 0), 2)],
        "\0tag",
      ),
  },
  {
    name: "btf_enum64",
    minKernel: "6.0",
    description: "BTF ENUM64 kind (64-bit enumerators)",
    probe: () => loadsBtf([...btfType(1, info(BtfKind.ENUM64, 0, 0), 8)], "\0enum64"),
  },
  {
    name: "array_mmap",
    minKernel: "5.5",
    description: "BPF_F_MMAPABLE array maps (mmap of map values)",
    probe: () => arrayMap(MapFlags.BPF_F_MMAPABLE).close(),
  },
  {
    name: "map_freeze",
    minKernel: "5.2",
    description: "BPF_MAP_FREEZE (maps read-only for user space)",
    probe: () => {
      using map = arrayMap();
      mapFreeze(map);
    },
  },
  {
    name: "rdonly_prog",
    minKernel: "5.2",
    description: "BPF_F_RDONLY_PROG maps (read-only for programs, e.g. .rodata)",
    probe: () => arrayMap(MapFlags.BPF_F_RDONLY_PROG).close(),
  },
  {
    name: "prog_bind_map",
    minKernel: "5.10",
    description: "BPF_PROG_BIND_MAP (tie metadata maps to a program's lifetime)",
    probe: () => {
      using map = arrayMap();
      using prog = progLoad({ type: ProgType.SOCKET_FILTER, insns: trivial(), license: GPL });
      progBindMap(prog, map);
    },
  },
  {
    name: "arena",
    minKernel: "6.9",
    description: "BPF_MAP_TYPE_ARENA (memory shared between programs and user space)",
    probe: () => mapCreate({ type: MapType.ARENA, keySize: 0, valueSize: 0, maxEntries: 1, flags: MapFlags.BPF_F_MMAPABLE }).close(),
  },
  {
    name: "ldimm64_full_range_off",
    minKernel: "7.0",
    description: "ld_imm64 map value offsets past 512 MiB (libbpf then puts arena globals at the end of the arena)",
    // libbpf probe_ldimm64_full_range_off: an offset of 1 GiB into a 1-byte value is refused either
    // way; the reason tells whether the verifier still caps direct value offsets.
    probe: () => {
      using map = arrayMap(0, 1);
      const insns = [...asm.ldImm64(1, PseudoLd.MAP_VALUE, map.fd, 1 << 30), asm.mov64Imm(0, 0), asm.exit()];
      try {
        progLoad({ type: ProgType.SOCKET_FILTER, insns: encode(insns), license: GPL }).close();
      } catch (e) {
        const log = e instanceof BpfSyscallError ? (e.log ?? "") : "";
        if (/direct value offset of/.test(log)) throw new ProbeAnswer("missing", "the verifier caps ld_imm64 map value offsets (\"direct value offset of 1073741824 is not allowed\")");
        if (/invalid access to map value pointer/.test(log)) return;
        throw e;
      }
      throw new ProbeAnswer("unknown", "the probe program, an out-of-range map value access, loaded unexpectedly");
    },
  },
  {
    name: "struct_ops_link",
    minKernel: "6.4",
    description: "struct_ops maps registered through a link (BPF_F_LINK, .struct_ops.link sections)",
    // A BPF_F_LINK struct_ops map of a type every kernel with struct_ops has: older kernels refuse the flag.
    probe: () => {
      const vtype = kernelStructs(["bpf_struct_ops_tcp_congestion_ops"]).get("bpf_struct_ops_tcp_congestion_ops")!;
      // The kernel wants a BTF object with it, any (the object's, for a real one).
      using btf = btfLoad(buildBtf([...INT(1)], "\0int"));
      mapCreate({ type: MapType.STRUCT_OPS, keySize: 4, valueSize: vtype.size, maxEntries: 1, flags: MapFlags.BPF_F_LINK, btfVmlinuxValueTypeId: vtype.id, btfFd: btf }).close();
    },
  },
  {
    name: "btf_qmark_datasec",
    minKernel: "6.9",
    description: "BTF DATASEC names starting with '?' (optional struct_ops sections)",
    probe: () =>
      loadsBtf(
        [...INT(0), ...btfType(1, info(BtfKind.VAR, 0, 0), 1), 0, ...btfType(3, info(BtfKind.DATASEC, 0, 1), 4), 2, 0, 4],
        "\0x\0?.data",
      ),
  },
  {
    name: "exp_attach_type",
    minKernel: "4.17",
    description: "expected_attach_type at BPF_PROG_LOAD (cgroup sock/sockaddr programs)",
    probe: () => progLoad({ type: ProgType.CGROUP_SOCK, insns: trivial(), license: GPL, expectedAttachType: AttachType.CGROUP_INET_SOCK_CREATE }).close(),
  },
  {
    name: "module_btf",
    minKernel: "5.11",
    description: "kernel module BTF (bpf_btf_info has name/name_len)",
    probe: () => {
      using btf = btfLoad(buildBtf([...INT(1)], "\0int"));
      // btfInfo retries with the pre-5.11 struct (it ends at `id`) when the kernel refuses the name
      // pointer with E2BIG: that retry, seen in the length the kernel filled, is the answer.
      if (btfObjInfo(btf).infoLen <= BtfInfoLayout.field("name").offset) {
        throw new ProbeAnswer("missing", "BPF_OBJ_GET_INFO_BY_FD refused bpf_btf_info's name/name_len (E2BIG): the kernel's struct ends at id", "E2BIG");
      }
    },
  },
  {
    name: "bpf_link",
    minKernel: "5.7",
    description: "BPF_LINK_CREATE (bpf_link for cgroup programs)",
    probe: () => linkCreateGivesEbadf(ProgType.CGROUP_SKB, AttachType.CGROUP_INET_INGRESS, AttachType.CGROUP_INET_INGRESS),
  },
  {
    name: "perf_link",
    minKernel: "5.15",
    description: "bpf_link for perf events (kprobes, tracepoints) instead of the ioctl",
    probe: () => linkCreateGivesEbadf(ProgType.TRACEPOINT, AttachType.PERF_EVENT),
  },
  {
    name: "kfunc_call",
    minKernel: "6.2",
    description: "calls to kernel functions (kfuncs) by BTF id from any program type (probed with bpf_rcu_read_lock; a few program types had kfuncs since 5.13)",
    verifierRejection: "missing",
    probe: () => {
      const ids = kernelFuncIds(PROBE_KFUNCS);
      const insns = [asm.kfuncCall(ids.get("bpf_rcu_read_lock")!), asm.kfuncCall(ids.get("bpf_rcu_read_unlock")!), asm.mov64Imm(0, 0), asm.exit()];
      progLoad({ type: ProgType.SOCKET_FILTER, insns: encode(insns), license: GPL }).close();
    },
  },
  {
    name: "fd_array",
    minKernel: "5.14",
    description: "fd_array at BPF_PROG_LOAD (BPF_PSEUDO_MAP_IDX; kfuncs in module BTF)",
    verifierRejection: "missing",
    probe: () => {
      using map = arrayMap();
      const insns = [...asm.ldImm64(1, PseudoLd.MAP_IDX, 0, 0), asm.mov64Imm(0, 0), asm.exit()];
      progLoad({ type: ProgType.SOCKET_FILTER, insns: encode(insns), license: GPL, fdArray: [map] }).close();
    },
  },
  {
    name: "typed_ksym",
    minKernel: "5.10",
    description:
      "typed ksyms: ld_imm64 BPF_PSEUDO_BTF_ID loads a kernel variable's address by its vmlinux BTF id (the variable must also be in kallsyms, which needs CONFIG_KALLSYMS_ALL)",
    probe: pseudoBtfIdGivesEnoent,
  },
  {
    name: "bpf_cookie",
    minKernel: "5.15",
    description: "BPF cookies: bpf_get_attach_cookie() in tracing programs (libbpf's LINUX_HAS_BPF_COOKIE)",
    // libbpf probe_kern_bpf_cookie: a tracepoint program calling the helper.
    probe: () => progLoad({ type: ProgType.TRACEPOINT, insns: encode([asm.call(BPF_FUNC_get_attach_cookie), asm.exit()]), license: GPL }).close(),
  },
  {
    name: "tcx_link",
    minKernel: "6.6",
    description: "tcx: tc programs attached through bpf_link (BPF_TCX_INGRESS/EGRESS), ordered in a chain, without netlink",
    // A tcx link to an interface that does not exist: ENODEV is tcx looking the interface up; a kernel
    // without tcx does not know the attach type (EINVAL).
    probe: () => {
      using prog = progLoad({ type: ProgType.SCHED_CLS, insns: trivial(), license: GPL });
      try {
        linkCreate(prog, { target: 0x7fffffff, attachType: AttachType.TCX_INGRESS }).close();
      } catch (e) {
        if (e instanceof BpfSyscallError && e.errnoName === "ENODEV") return;
        throw e;
      }
      throw new ProbeAnswer("unknown", "a tcx link to ifindex 0x7fffffff unexpectedly succeeded");
    },
  },
];

/** Every probed feature, by name. */
export const FEATURES: Readonly<Record<FeatureName, FeatureInfo>> = Object.fromEntries(DEFS.map((d) => [d.name, d])) as Record<
  FeatureName,
  FeatureInfo
>;

/** Answers of `supported`/`missing` probes for this process (an `unknown` one is probed again next time). */
const cache = new Map<FeatureName, ProbeResult>();

/**
 * Probe one feature. A `supported` or `missing` answer is cached for the process (later calls
 * return the same object); an `unknown` one is not, so the next call probes again.
 */
export function probeFeature(name: FeatureName): ProbeResult {
  const hit = cache.get(name);
  if (hit) return hit;
  const f = FEATURES[name];
  if (!f) throw new RangeError(`unknown feature "${String(name)}"`);
  const outcome = runProbe(f.probe, f);
  const res: ProbeResult = { name, minKernel: f.minKernel, description: f.description, ...outcome, supported: outcome.status === "supported" };
  if (res.status !== "unknown") cache.set(name, res);
  return res;
}

function inconclusive(r: ProbeResult): ProbeInconclusiveError {
  return new ProbeInconclusiveError(r.name, r.error ?? "no reason given", r.errno);
}

/**
 * Whether the running kernel has `name`: true when supported, false when missing.
 * @throws {@link ProbeInconclusiveError} when the probe could not tell (no permission, no memory…).
 */
export function hasFeature(name: FeatureName): boolean {
  const r = probeFeature(name);
  if (r.status === "unknown") throw inconclusive(r);
  return r.status === "supported";
}

/**
 * Throw {@link UnsupportedFeatureError} when the running kernel lacks `name`, and
 * {@link ProbeInconclusiveError} when the probe could not tell.
 */
export function requireFeature(name: FeatureName): void {
  const r = probeFeature(name);
  if (r.status === "unknown") throw inconclusive(r);
  if (r.status === "missing") throw new UnsupportedFeatureError(name, r.minKernel, r.description + (r.error ? ` [probe: ${r.error}]` : ""));
}

/** Probe every feature (a `supported`/`missing` answer at most once per process). */
export function probeAll(): ProbeResult[] {
  return DEFS.map((d) => probeFeature(d.name));
}
