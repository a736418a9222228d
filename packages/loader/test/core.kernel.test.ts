/**
 * CO-RE on every kernel: the same object (core.bpf.o, built once against a minimal local
 * task_struct) reads the running task's fields at this kernel's offsets. The values are compared
 * with what user space knows of itself; the kernel's BTF gives the sizes and enum values.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { vmlinuxTypes } from "../src/kernel-btf.js";
import { fixture, haveKernel } from "./kernel.js";

/** This thread's id and name, as the kernel knows them. */
function self(): { tid: number; comm: string } {
  const m = /^\d+\/task\/(\d+)$/.exec(readlinkSync("/proc/thread-self"))!;
  return { tid: Number(m[1]), comm: readFileSync("/proc/thread-self/comm", "utf8").trim() };
}

describe.runIf(haveKernel)("core.bpf.o: CO-RE against the running kernel's BTF", () => {
  it("reads the current task's pid, tgid, comm and group leader at this kernel's offsets", () => {
    using obj = openObject(fixture("core")).load();
    obj.program("read_task").testRun();
    const kernel = vmlinuxTypes();
    const taskStruct = kernel.btf.idsByName("task_struct").find((id) => kernel.btf.type(id).kind === "STRUCT")!;
    const { tid, comm } = self();
    expect(obj.variable("seen").get()).toEqual({
      pid: tid,
      tgid: process.pid,
      comm,
      leader_pid: process.pid,
      missing_exists: 0, // no kernel has task_struct.xbpf_no_such_field; its guarded read was removed
      missing_value: 0,
      task_size: kernel.btf.sizeof(taskStruct),
      map_type_array: 2n, // BPF_MAP_TYPE_ARRAY, from the kernel's enum bpf_map_type
    });
  });

  it("an unguarded read of a member the kernel lacks is refused, naming the relocation and the source line", () => {
    expect(() => openObject(fixture("core-unguarded")).load()).toThrow(
      expect.objectContaining({
        code: "LOAD_PROGRAM",
        message: expect.stringMatching(/CO-RE relocation #0 \(FIELD_BYTE_OFFSET\) of .*xbpf_no_such_field.* failed: field 'xbpf_no_such_field' not found in struct task_struct of vmlinux \(core-unguarded\.bpf\.c:\d+/),
      }),
    );
  });
});
