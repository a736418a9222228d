/**
 * `struct bpf_prog_info`, `struct bpf_map_info`, `struct bpf_btf_info` as returned by
 * `BPF_OBJ_GET_INFO_BY_FD`. Sizes match the uapi header of Linux 6.1; newer kernels have
 * longer structs and copy only `info_len` bytes, older ones report a shorter length.
 *
 * @packageDocumentation
 */
import { struct } from "@x/elf/layout";

/** `struct bpf_prog_info` (232 bytes). `gpl_compatible` is bit 0 of the word at 84. */
export const ProgInfoLayout = struct(
  "bpf_prog_info",
  [
    ["type", "u32"],
    ["id", "u32"],
    ["tag", { bytes: 8 }],
    ["jited_prog_len", "u32"],
    ["xlated_prog_len", "u32"],
    ["jited_prog_insns", "u64"],
    ["xlated_prog_insns", "u64"],
    ["load_time", "u64"],
    ["created_by_uid", "u32"],
    ["nr_map_ids", "u32"],
    ["map_ids", "u64"],
    ["name", { bytes: 16 }],
    ["ifindex", "u32"],
    ["gpl_compatible", "u32"],
    ["netns_dev", "u64"],
    ["netns_ino", "u64"],
    ["nr_jited_ksyms", "u32"],
    ["nr_jited_func_lens", "u32"],
    ["jited_ksyms", "u64"],
    ["jited_func_lens", "u64"],
    ["btf_id", "u32"],
    ["func_info_rec_size", "u32"],
    ["func_info", "u64"],
    ["nr_func_info", "u32"],
    ["nr_line_info", "u32"],
    ["line_info", "u64"],
    ["jited_line_info", "u64"],
    ["nr_jited_line_info", "u32"],
    ["line_info_rec_size", "u32"],
    ["jited_line_info_rec_size", "u32"],
    ["nr_prog_tags", "u32"],
    ["prog_tags", "u64"],
    ["run_time_ns", "u64"],
    ["run_cnt", "u64"],
    ["recursion_misses", "u64"],
    ["verified_insns", "u32"],
    ["attach_btf_obj_id", "u32"],
    ["attach_btf_id", "u32"],
  ],
  232,
);

/** Fields of {@link ProgInfoLayout} that are C bitfields (checked by value, not by `offsetof`). */
export const PROG_INFO_BITFIELDS: readonly string[] = ["gpl_compatible"];

/** `struct bpf_map_info` (88 bytes). */
export const MapInfoLayout = struct(
  "bpf_map_info",
  [
    ["type", "u32"],
    ["id", "u32"],
    ["key_size", "u32"],
    ["value_size", "u32"],
    ["max_entries", "u32"],
    ["map_flags", "u32"],
    ["name", { bytes: 16 }],
    ["ifindex", "u32"],
    ["btf_vmlinux_value_type_id", "u32"],
    ["netns_dev", "u64"],
    ["netns_ino", "u64"],
    ["btf_id", "u32"],
    ["btf_key_type_id", "u32"],
    ["btf_value_type_id", "u32"],
    ["map_extra", "u64", 80],
  ],
  88,
);

/** `struct bpf_btf_info` (32 bytes). */
export const BtfInfoLayout = struct(
  "bpf_btf_info",
  [
    ["btf", "u64"],
    ["btf_size", "u32"],
    ["id", "u32"],
    ["name", "u64"],
    ["name_len", "u32"],
    ["kernel_btf", "u32"],
  ],
  32,
);

/**
 * `struct bpf_link_info` (48 bytes in Linux 6.1): the common head, then the members of its union that
 * `linkInfo` decodes (they overlap: which one holds depends on `type`).
 */
export const LinkInfoLayout = struct(
  "bpf_link_info",
  [
    ["type", "u32"],
    ["id", "u32"],
    ["prog_id", "u32"],
    ["raw_tracepoint.tp_name", "u64", 16],
    ["raw_tracepoint.tp_name_len", "u32", 24],
    ["tracing.attach_type", "u32", 16],
    ["tracing.target_obj_id", "u32", 20],
    ["tracing.target_btf_id", "u32", 24],
    ["cgroup.cgroup_id", "u64", 16],
    ["cgroup.attach_type", "u32", 24],
    ["netns.netns_ino", "u32", 16],
    ["netns.attach_type", "u32", 20],
    ["xdp.ifindex", "u32", 16],
    ["tcx.ifindex", "u32", 16],
    ["tcx.attach_type", "u32", 20],
  ],
  48,
);

/** Every info layout with its C struct name (used by the ABI test). */
export const INFO_LAYOUTS = [
  { cStruct: "bpf_prog_info", layout: ProgInfoLayout },
  { cStruct: "bpf_map_info", layout: MapInfoLayout },
  { cStruct: "bpf_btf_info", layout: BtfInfoLayout },
  { cStruct: "bpf_link_info", layout: LinkInfoLayout },
] as const;
