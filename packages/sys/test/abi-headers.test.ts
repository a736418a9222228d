/**
 * Every binary layout and constant of @x/sys checked against C: a generated program is
 * compiled with gcc against (1) the installed uapi headers (`<linux/bpf.h>`, `<linux/btf.h>`)
 * and (2) the running kernel's own types (`vmlinux.h` dumped from /sys/kernel/btf/vmlinux by
 * bpftool), and its `offsetof`/`sizeof`/values are compared with the tables.
 */
import { execFileSync, execSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Layout } from "@x/elf/layout";
import {
  ATTR_LAYOUTS,
  AttachFlags,
  AttachType,
  BPF_OBJ_NAME_LEN,
  BPF_TAG_SIZE,
  BpfCmd,
  BtfHeaderLayout,
  INFO_LAYOUTS,
  LinkType,
  MapFlags,
  MapType,
  Netlink,
  NETLINK_LAYOUTS,
  PROG_INFO_BITFIELDS,
  ProgFlags,
  ProgType,
  TestRunFlags,
  UpdateFlags,
  XdpFlags,
} from "@x/sys";
import { BpfInsn, PseudoCall, PseudoLd } from "@x/reloc";
import { BtfKind } from "../src/probes/btf-blob.js";

const UAPI_BPF = "/usr/include/linux/bpf.h";
const UAPI_BTF = "/usr/include/linux/btf.h";
/** Where the rtnetlink constants of `Netlink` are declared. */
const UAPI_NETLINK = ["netlink", "rtnetlink", "pkt_sched", "pkt_cls", "if_link"].map((h) => `/usr/include/linux/${h}.h`);

/** Fields that are newer than the installed uapi header (6.1); they are checked against vmlinux.h only. */
const NEWER_THAN_UAPI = new Set([
  "bpf_attr(PROG_LOAD)::log_true_size",
  "bpf_attr(BTF_LOAD)::btf_log_true_size",
  "bpf_attr(LINK_CREATE/tcx)::tcx.relative_fd",
  "bpf_attr(LINK_CREATE/tcx)::tcx.expected_revision",
  "bpf_link_info::tcx.ifindex",
  "bpf_link_info::tcx.attach_type",
]);

interface StructCheck {
  id: string;
  cType: string;
  prefix: string;
  layout: Layout<unknown>;
  bitfields?: readonly string[];
  skipFields?: readonly string[];
  checkSize: boolean;
}

const STRUCTS: StructCheck[] = [
  ...ATTR_LAYOUTS.map((a) => ({ id: a.layout.name, cType: "union bpf_attr", prefix: a.cPrefix, layout: a.layout, checkSize: false })),
  ...INFO_LAYOUTS.map((i) => ({
    id: i.layout.name,
    cType: `struct ${i.cStruct}`,
    prefix: "",
    layout: i.layout as Layout<unknown>,
    bitfields: i.cStruct === "bpf_prog_info" ? PROG_INFO_BITFIELDS : [],
    checkSize: true,
  })),
  ...NETLINK_LAYOUTS.map((n) => ({ id: n.layout.name, cType: `struct ${n.cStruct}`, prefix: "", layout: n.layout as Layout<unknown>, checkSize: true })),
  { id: "bpf_insn", cType: "struct bpf_insn", prefix: "", layout: BpfInsn as Layout<unknown>, skipFields: ["regs"], checkSize: true },
  { id: "btf_header", cType: "struct btf_header", prefix: "", layout: BtfHeaderLayout as Layout<unknown>, checkSize: true },
];

/** [C name, value, is a #define]. */
const CONSTS: [string, number, boolean][] = [
  ...Object.entries(BpfCmd).map(([k, v]) => [`BPF_${k}`, v, false] as [string, number, boolean]),
  ...Object.entries(MapType).map(([k, v]) => [`BPF_MAP_TYPE_${k}`, v, false] as [string, number, boolean]),
  ...Object.entries(ProgType).map(([k, v]) => [`BPF_PROG_TYPE_${k}`, v, false] as [string, number, boolean]),
  ...Object.entries(AttachType).map(([k, v]) => [`BPF_${k}`, v, false] as [string, number, boolean]),
  ...Object.entries(UpdateFlags).map(([k, v]) => [k, v, false] as [string, number, boolean]),
  ...Object.entries(MapFlags).map(([k, v]) => [k, v, false] as [string, number, boolean]),
  ...Object.entries(BtfKind).map(([k, v]) => [`BTF_KIND_${k}`, v, false] as [string, number, boolean]),
  ...Object.entries(AttachFlags).map(([k, v]) => [k, v, true] as [string, number, boolean]),
  ...Object.entries(LinkType).map(([k, v]) => [`BPF_LINK_TYPE_${k}`, v, false] as [string, number, boolean]),
  ...Object.entries(ProgFlags).map(([k, v]) => [k, v, true] as [string, number, boolean]),
  ...Object.entries(TestRunFlags).map(([k, v]) => [k, v, true] as [string, number, boolean]),
  // The instruction-level constants live in @x/reloc; PseudoCall.HELPER (0) has no C name.
  ...Object.entries(PseudoLd).map(([k, v]) => [`BPF_PSEUDO_${k}`, v, true] as [string, number, boolean]),
  ...Object.entries(PseudoCall).filter(([k]) => k !== "HELPER").map(([k, v]) => [`BPF_PSEUDO_${k}`, v, true] as [string, number, boolean]),
  ...Object.entries(XdpFlags).map(([k, v]) => [k, v, true] as [string, number, boolean]),
  // rtnetlink: enum members (RTM_*, TCA_*, IFLA_*) and #defines (the rest).
  ...Object.entries(Netlink).map(([k, v]) => [k, v, !/^(RTM_|TCA_(KIND|OPTIONS|BPF_(FD|NAME|FLAGS|ID))$|IFLA_|NLMSGERR_ATTR_)/.test(k)] as [string, number, boolean]),
  ["BPF_OBJ_NAME_LEN", BPF_OBJ_NAME_LEN, true],
  ["BPF_TAG_SIZE", BPF_TAG_SIZE, true],
];

function program(include: string, has: (kind: "field" | "const", name: string) => boolean): string {
  const out: string[] = [
    include,
    "int printf(const char *fmt, ...);",
    "#define F(id, T, m) printf(\"F %s %lu %lu\\n\", id, (unsigned long)__builtin_offsetof(T, m), (unsigned long)sizeof(((T *)0)->m));",
    "#define S(id, T) printf(\"S %s %lu\\n\", id, (unsigned long)sizeof(T));",
    "#define E(n) printf(\"E %s %lld\\n\", #n, (long long)(n));",
    "int main(void) {",
  ];
  for (const s of STRUCTS) {
    for (const f of s.layout.fields) {
      const id = `${s.id}::${f.name}`;
      if (s.skipFields?.includes(f.name) || !has("field", id)) continue;
      if (s.bitfields?.includes(f.name)) {
        out.push(
          `{ ${s.cType} x; unsigned char *p = (unsigned char *)&x; unsigned long i = 0; __builtin_memset(&x, 0, sizeof x); x.${f.name} = 1;` +
            ` while (!p[i]) i++; printf("F %s %lu 4\\n", "${id}", i & ~3UL); }`,
        );
      } else {
        out.push(`F("${id}", ${s.cType}, ${s.prefix}${f.name})`);
      }
    }
    if (s.checkSize && has("field", `${s.id}::(size)`)) out.push(`S("${s.id}", ${s.cType})`);
  }
  // bpf_insn register nibbles: dst in the low 4 bits of byte 1, src in the high 4 bits.
  out.push(
    `{ struct bpf_insn x; unsigned char *p = (unsigned char *)&x; __builtin_memset(&x, 0, sizeof x); x.dst_reg = 1; printf("X insn_dst_reg %u\\n", p[1]);` +
      ` __builtin_memset(&x, 0, sizeof x); x.src_reg = 1; printf("X insn_src_reg %u\\n", p[1]); }`,
  );
  for (const [name, , isDefine] of CONSTS) {
    if (!has("const", name)) continue;
    out.push(isDefine ? `#ifdef ${name}\nE(${name})\n#endif` : `E(${name})`);
  }
  out.push("return 0; }");
  return out.join("\n");
}

function run(dir: string, name: string, src: string, incDir?: string): string[] {
  const c = join(dir, `${name}.c`);
  const exe = join(dir, name);
  writeFileSync(c, src);
  execFileSync("gcc", ["-w", "-o", exe, c, ...(incDir ? ["-I", incDir] : [])], { stdio: ["ignore", "pipe", "pipe"] });
  return execFileSync(exe).toString().trim().split("\n");
}

/** Compare the C program's output with the tables; returns the mismatches. */
function compare(lines: string[], sizes: boolean): { mismatches: string[]; fields: number; consts: number } {
  const mismatches: string[] = [];
  const layouts = new Map(STRUCTS.map((s) => [s.id, s]));
  const consts = new Map(CONSTS.map(([n, v]) => [n, v]));
  let nf = 0, nc = 0;
  for (const line of lines) {
    const [tag, id, a, b] = line.split(" ") as [string, string, string, string?];
    if (tag === "F") {
      nf++;
      const [lid, fname] = id.split("::") as [string, string];
      const f = layouts.get(lid)!.layout.fields.find((x) => x.name === fname)!;
      if (f.offset !== Number(a) || f.size !== Number(b)) mismatches.push(`${id}: table offset ${f.offset} size ${f.size}, C offset ${a} size ${b}`);
    } else if (tag === "S" && sizes) {
      const s = layouts.get(id)!;
      if (s.layout.size !== Number(a)) mismatches.push(`sizeof ${s.cType}: table ${s.layout.size}, C ${a}`);
    } else if (tag === "E") {
      nc++;
      if (consts.get(id) !== Number(a)) mismatches.push(`${id}: table ${consts.get(id)}, C ${a}`);
    } else if (tag === "X") {
      const want = id === "insn_dst_reg" ? 0x01 : 0x10;
      if (Number(a) !== want) mismatches.push(`${id}: byte 1 is ${a}, the encoder assumes ${want}`);
    }
  }
  return { mismatches, fields: nf, consts: nc };
}

const haveGcc = (() => {
  try {
    execSync("gcc --version", { stdio: "ignore" });
    return existsSync(UAPI_BPF);
  } catch {
    return false;
  }
})();
if (!haveGcc && process.env.CI) throw new Error("ABI test needs gcc and the uapi headers (linux-libc-dev) in CI");

const dir = mkdtempSync(join(tmpdir(), "x-sys-abi-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(haveGcc)("ABI tables vs C headers", () => {
  it("match the installed uapi headers (linux/bpf.h, linux/btf.h)", () => {
    const header = [UAPI_BPF, UAPI_BTF, ...UAPI_NETLINK].map((f) => readFileSync(f, "utf8")).join("\n");
    const declared = (name: string) => new RegExp(`^\\s*(#define\\s+)?${name}\\b\\s*(=|,|\\s|$)`, "m").test(header);
    const src = program(["bpf", "btf", "rtnetlink", "pkt_sched", "pkt_cls", "if_link"].map((h) => `#include <linux/${h}.h>`).join("\n"), (kind, name) =>
      kind === "field" ? !NEWER_THAN_UAPI.has(name) : declared(name),
    );
    const { mismatches, fields, consts } = compare(run(dir, "uapi", src), true);
    expect(mismatches).toEqual([]);
    expect(fields).toBeGreaterThan(150);
    expect(consts).toBeGreaterThan(150);
  });

  const vmlinux = "/sys/kernel/btf/vmlinux";
  let bpftool = false;
  try {
    execSync("bpftool version", { stdio: "ignore" });
    bpftool = existsSync(vmlinux);
  } catch {
    bpftool = false;
  }
  if (!bpftool && process.env.CI) throw new Error("ABI test needs bpftool and /sys/kernel/btf/vmlinux in CI");

  it.runIf(bpftool)("match the running kernel's types (vmlinux.h from BTF)", () => {
    writeFileSync(join(dir, "vmlinux.h"), execFileSync("bpftool", ["btf", "dump", "file", vmlinux, "format", "c"], { maxBuffer: 1 << 30 }));
    // Newer kernels extend the info structs, so sizes are only checked against the uapi header.
    const src = program('#include "vmlinux.h"', () => true);
    const { mismatches, fields, consts } = compare(run(dir, "vmlinux", src, dir), false);
    expect(mismatches).toEqual([]);
    expect(fields).toBeGreaterThan(150);
    expect(consts).toBeGreaterThan(150);
  });
});
