/**
 * `union bpf_attr`, declared once per command as a layout. Field names are the kernel's,
 * so `test/abi-headers.test.ts` can check every offset and size against the C headers.
 * A layout ends at the last field we use (like libbpf's `offsetofend`): the kernel accepts a
 * shorter attr and zero-fills the rest, and an older kernel accepts a longer one as long as
 * the bytes it does not know are zero.
 *
 * Pointer fields (`__aligned_u64`) are user-space addresses as `u64`.
 *
 * @packageDocumentation
 */
import { struct, type Layout } from "@x/elf/layout";
import { BpfCmd } from "./consts.js";

/** `BPF_MAP_CREATE`. */
export const MapCreateAttr = struct("bpf_attr(MAP_CREATE)", [
  ["map_type", "u32"],
  ["key_size", "u32"],
  ["value_size", "u32"],
  ["max_entries", "u32"],
  ["map_flags", "u32"],
  ["inner_map_fd", "u32"],
  ["numa_node", "u32"],
  ["map_name", { bytes: 16 }],
  ["map_ifindex", "u32"],
  ["btf_fd", "u32"],
  ["btf_key_type_id", "u32"],
  ["btf_value_type_id", "u32"],
  ["btf_vmlinux_value_type_id", "u32"],
  ["map_extra", "u64"],
]);

/** `BPF_MAP_LOOKUP_ELEM`, `BPF_MAP_UPDATE_ELEM`, `BPF_MAP_DELETE_ELEM`, `BPF_MAP_LOOKUP_AND_DELETE_ELEM`. */
export const MapElemAttr = struct("bpf_attr(MAP_*_ELEM)", [
  ["map_fd", "u32"],
  ["key", "u64", 8],
  ["value", "u64"],
  ["flags", "u64"],
]);

/** `BPF_MAP_GET_NEXT_KEY` (`next_key` shares its slot with `value`). */
export const MapGetNextKeyAttr = struct("bpf_attr(MAP_GET_NEXT_KEY)", [
  ["map_fd", "u32"],
  ["key", "u64", 8],
  ["next_key", "u64"],
]);

/** `BPF_MAP_FREEZE`. */
export const MapFreezeAttr = struct("bpf_attr(MAP_FREEZE)", [["map_fd", "u32"]]);

/** `BPF_PROG_LOAD`, up to `log_true_size` (Linux 6.4; older kernels ignore it while it is zero). */
export const ProgLoadAttr = struct("bpf_attr(PROG_LOAD)", [
  ["prog_type", "u32"],
  ["insn_cnt", "u32"],
  ["insns", "u64"],
  ["license", "u64"],
  ["log_level", "u32"],
  ["log_size", "u32"],
  ["log_buf", "u64"],
  ["kern_version", "u32"],
  ["prog_flags", "u32"],
  ["prog_name", { bytes: 16 }],
  ["prog_ifindex", "u32"],
  ["expected_attach_type", "u32"],
  ["prog_btf_fd", "u32"],
  ["func_info_rec_size", "u32"],
  ["func_info", "u64"],
  ["func_info_cnt", "u32"],
  ["line_info_rec_size", "u32"],
  ["line_info", "u64"],
  ["line_info_cnt", "u32"],
  ["attach_btf_id", "u32"],
  ["attach_prog_fd", "u32"],
  ["attach_btf_obj_fd", "u32", 112],
  ["core_relo_cnt", "u32"],
  ["fd_array", "u64"],
  ["core_relos", "u64"],
  ["core_relo_rec_size", "u32"],
  ["log_true_size", "u32"],
]);

/** `BPF_BTF_LOAD`, up to `btf_log_true_size` (Linux 6.4). */
export const BtfLoadAttr = struct("bpf_attr(BTF_LOAD)", [
  ["btf", "u64"],
  ["btf_log_buf", "u64"],
  ["btf_size", "u32"],
  ["btf_log_size", "u32"],
  ["btf_log_level", "u32"],
  ["btf_log_true_size", "u32"],
]);

/** `BPF_OBJ_PIN` and `BPF_OBJ_GET`. */
export const ObjAttr = struct("bpf_attr(OBJ_PIN/OBJ_GET)", [
  ["pathname", "u64"],
  ["bpf_fd", "u32"],
  ["file_flags", "u32"],
]);

/** `BPF_OBJ_GET_INFO_BY_FD` (the `info` member). */
export const GetInfoAttr = struct("bpf_attr(OBJ_GET_INFO_BY_FD)", [
  ["bpf_fd", "u32"],
  ["info_len", "u32"],
  ["info", "u64"],
]);

/** `BPF_PROG_TEST_RUN` (the `test` member). */
export const ProgTestRunAttr = struct("bpf_attr(PROG_TEST_RUN)", [
  ["prog_fd", "u32"],
  ["retval", "u32"],
  ["data_size_in", "u32"],
  ["data_size_out", "u32"],
  ["data_in", "u64"],
  ["data_out", "u64"],
  ["repeat", "u32"],
  ["duration", "u32"],
  ["ctx_size_in", "u32"],
  ["ctx_size_out", "u32"],
  ["ctx_in", "u64"],
  ["ctx_out", "u64"],
  ["flags", "u32"],
  ["cpu", "u32"],
  ["batch_size", "u32"],
]);

/** `BPF_PROG_BIND_MAP` (the `prog_bind_map` member). */
export const ProgBindMapAttr = struct("bpf_attr(PROG_BIND_MAP)", [
  ["prog_fd", "u32"],
  ["map_fd", "u32"],
  ["flags", "u32"],
]);

/** `BPF_LINK_CREATE` (the `link_create` member), up to `flags`; `map_fd` shares the `prog_fd` slot, `target_ifindex` the `target_fd` one. */
export const LinkCreateAttr = struct("bpf_attr(LINK_CREATE)", [
  ["prog_fd", "u32"],
  ["target_fd", "u32"],
  ["attach_type", "u32"],
  ["flags", "u32"],
]);

/** `BPF_LINK_CREATE` for tcx and netkit links (Linux 6.6): where in the chain (`relative_fd`/`relative_id`, by `flags`) and the chain revision expected. */
export const LinkCreateTcxAttr = struct("bpf_attr(LINK_CREATE/tcx)", [
  ["prog_fd", "u32"],
  ["target_ifindex", "u32"],
  ["attach_type", "u32"],
  ["flags", "u32"],
  ["tcx.relative_fd", "u32"],
  ["tcx.expected_revision", "u64", 24],
]);

/** `BPF_LINK_CREATE` of a perf event link (Linux 5.15): `target_fd` is the perf event, with a cookie for `bpf_get_attach_cookie()`. */
export const LinkCreatePerfEventAttr = struct("bpf_attr(LINK_CREATE/perf_event)", [
  ["prog_fd", "u32"],
  ["target_fd", "u32"],
  ["attach_type", "u32"],
  ["flags", "u32"],
  ["perf_event.bpf_cookie", "u64"],
]);

/** `BPF_LINK_UPDATE` (the `link_update` member): with `BPF_F_REPLACE` in `flags`, only while `old_prog_fd` is the program attached. */
export const LinkUpdateAttr = struct("bpf_attr(LINK_UPDATE)", [
  ["link_fd", "u32"],
  ["new_prog_fd", "u32"],
  ["flags", "u32"],
  ["old_prog_fd", "u32"],
]);

/** `BPF_LINK_DETACH` (the `link_detach` member). */
export const LinkDetachAttr = struct("bpf_attr(LINK_DETACH)", [["link_fd", "u32"]]);

/** `BPF_PROG_ATTACH` / `BPF_PROG_DETACH` (the anonymous attach struct), up to `replace_bpf_fd`. */
export const ProgAttachAttr = struct("bpf_attr(PROG_ATTACH)", [
  ["target_fd", "u32"],
  ["attach_bpf_fd", "u32"],
  ["attach_type", "u32"],
  ["attach_flags", "u32"],
  ["replace_bpf_fd", "u32"],
]);

/** `BPF_RAW_TRACEPOINT_OPEN` (the `raw_tracepoint` member): also attaches tracing and freplace programs to the target they were loaded for (`name` 0). */
export const RawTracepointOpenAttr = struct("bpf_attr(RAW_TRACEPOINT_OPEN)", [
  ["name", "u64"],
  ["prog_fd", "u32"],
]);

/** `BPF_{PROG,MAP,BTF,LINK}_GET_NEXT_ID`. */
export const GetNextIdAttr = struct("bpf_attr(*_GET_NEXT_ID)", [
  ["start_id", "u32"],
  ["next_id", "u32"],
]);

/** `BPF_{PROG,MAP,BTF,LINK}_GET_FD_BY_ID` (the id fields share one slot). */
export const GetFdByIdAttr = struct("bpf_attr(*_GET_FD_BY_ID)", [
  ["prog_id", "u32", 0],
  ["map_id", "u32", 0],
  ["btf_id", "u32", 0],
  ["link_id", "u32", 0],
  ["open_flags", "u32", 8],
]);

/** One row of {@link ATTR_LAYOUTS}. */
export interface AttrLayoutEntry {
  /** Commands that use this layout. */
  readonly commands: readonly number[];
  /** The layout. */
  readonly layout: Layout<unknown>;
  /** C member path prefix inside `union bpf_attr` (`""` for anonymous structs, `"test."` for `test`). */
  readonly cPrefix: string;
}

/** Every `bpf_attr` layout with the commands using it and its C member path (used by the ABI test). */
export const ATTR_LAYOUTS: readonly AttrLayoutEntry[] = [
  { commands: [BpfCmd.MAP_CREATE], layout: MapCreateAttr as Layout<unknown>, cPrefix: "" },
  {
    commands: [BpfCmd.MAP_LOOKUP_ELEM, BpfCmd.MAP_UPDATE_ELEM, BpfCmd.MAP_DELETE_ELEM, BpfCmd.MAP_LOOKUP_AND_DELETE_ELEM],
    layout: MapElemAttr as Layout<unknown>,
    cPrefix: "",
  },
  { commands: [BpfCmd.MAP_GET_NEXT_KEY], layout: MapGetNextKeyAttr as Layout<unknown>, cPrefix: "" },
  { commands: [BpfCmd.MAP_FREEZE], layout: MapFreezeAttr as Layout<unknown>, cPrefix: "" },
  { commands: [BpfCmd.PROG_LOAD], layout: ProgLoadAttr as Layout<unknown>, cPrefix: "" },
  { commands: [BpfCmd.BTF_LOAD], layout: BtfLoadAttr as Layout<unknown>, cPrefix: "" },
  { commands: [BpfCmd.OBJ_PIN, BpfCmd.OBJ_GET], layout: ObjAttr as Layout<unknown>, cPrefix: "" },
  { commands: [BpfCmd.OBJ_GET_INFO_BY_FD], layout: GetInfoAttr as Layout<unknown>, cPrefix: "info." },
  { commands: [BpfCmd.PROG_TEST_RUN], layout: ProgTestRunAttr as Layout<unknown>, cPrefix: "test." },
  { commands: [BpfCmd.PROG_BIND_MAP], layout: ProgBindMapAttr as Layout<unknown>, cPrefix: "prog_bind_map." },
  { commands: [BpfCmd.LINK_CREATE], layout: LinkCreateAttr as Layout<unknown>, cPrefix: "link_create." },
  { commands: [BpfCmd.LINK_CREATE], layout: LinkCreateTcxAttr as Layout<unknown>, cPrefix: "link_create." },
  { commands: [BpfCmd.LINK_CREATE], layout: LinkCreatePerfEventAttr as Layout<unknown>, cPrefix: "link_create." },
  { commands: [BpfCmd.LINK_UPDATE], layout: LinkUpdateAttr as Layout<unknown>, cPrefix: "link_update." },
  { commands: [BpfCmd.LINK_DETACH], layout: LinkDetachAttr as Layout<unknown>, cPrefix: "link_detach." },
  { commands: [BpfCmd.PROG_ATTACH, BpfCmd.PROG_DETACH], layout: ProgAttachAttr as Layout<unknown>, cPrefix: "" },
  { commands: [BpfCmd.RAW_TRACEPOINT_OPEN], layout: RawTracepointOpenAttr as Layout<unknown>, cPrefix: "raw_tracepoint." },
  {
    commands: [BpfCmd.PROG_GET_NEXT_ID, BpfCmd.MAP_GET_NEXT_ID, BpfCmd.BTF_GET_NEXT_ID, BpfCmd.LINK_GET_NEXT_ID],
    layout: GetNextIdAttr as Layout<unknown>,
    cPrefix: "",
  },
  {
    commands: [BpfCmd.PROG_GET_FD_BY_ID, BpfCmd.MAP_GET_FD_BY_ID, BpfCmd.BTF_GET_FD_BY_ID, BpfCmd.LINK_GET_FD_BY_ID],
    layout: GetFdByIdAttr as Layout<unknown>,
    cPrefix: "",
  },
];
