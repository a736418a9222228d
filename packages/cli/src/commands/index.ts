import type { CommandEntry } from "../command.js";

/** Every subcommand, in help order. */
export const commands: readonly CommandEntry[] = [
  { name: "inspect", summary: "show an object's sections, programs, maps (internal ones too) and variables", load: async () => (await import("./inspect.js")).inspect },
  { name: "patch", summary: "write a copy of an object whose data sections hold new values (no compiler needed)", load: async () => (await import("./patch.js")).patch },
  { name: "load", summary: "load an object into the kernel and print what was created; --pin keeps it after exit", load: async () => (await import("./load.js")).load },
  { name: "run", summary: "load an object, test-run one program (BPF_PROG_TEST_RUN) and print its result and the globals", load: async () => (await import("./run.js")).run },
  { name: "attach", summary: "load an object and attach one program (XDP, tc, cgroup, netns, tracing), pinned so it stays after exit", load: async () => (await import("./attach.js")).attach },
  { name: "replace", summary: "swap a new version of an attached program in atomically, maps pinned by name (and globals, --keep-globals) carried over", load: async () => (await import("./attach.js")).replace },
  { name: "detach", summary: "end an attachment made by xbpf attach and remove its pins", load: async () => (await import("./attach.js")).detach },
  { name: "gen", summary: "generate from an object: `gen loader` writes a loader program (light skeleton) as JSON or a TypeScript module with a typed load()", load: async () => (await import("./gen.js")).gen },
  { name: "prog", summary: "list every program in the kernel; show one's metadata and live globals, write one (--set), watch them (--watch)", load: async () => (await import("./prog.js")).prog },
  { name: "test", summary: "run the annotated programs of objects as the kernel's selftests do (__success, __failure, __msg, __retval)", load: async () => (await import("./test.js")).test },
  { name: "probe", summary: "show which BPF features and program types the running kernel has", load: async () => (await import("./probe.js")).probe },
];
