/**
 * The perf_event ABI of probe attachments: `struct perf_event_attr` up to `PERF_ATTR_SIZE_VER5`
 * (every kernel since 4.1 takes it), and the constants tracepoint, kprobe and uprobe events need.
 *
 * @packageDocumentation
 */
import { struct } from "@x/elf/layout";

/** `struct perf_event_attr`, the fields probe events use, at their offsets; 112 bytes (`PERF_ATTR_SIZE_VER5`). */
export const PerfEventAttr = struct(
  "perf_event_attr",
  [
    ["type", "u32"],
    ["size", "u32"],
    ["config", "u64"],
    ["sample_period", "u64"],
    ["sample_type", "u64"],
    ["wakeup_events", "u32", 48],
    ["config1", "u64", 56],
    ["config2", "u64", 64],
  ],
  112,
);

/** perf_event constants, by their C names. */
export const Perf = {
  PERF_TYPE_TRACEPOINT: 2,
  PERF_SAMPLE_RAW: 1 << 10,
  PERF_FLAG_FD_CLOEXEC: 1 << 3,
  PERF_ATTR_SIZE_VER5: 112,
  PERF_EVENT_IOC_ENABLE: 0x2400,
  PERF_EVENT_IOC_DISABLE: 0x2401,
  PERF_EVENT_IOC_SET_BPF: 0x40042408,
} as const;
