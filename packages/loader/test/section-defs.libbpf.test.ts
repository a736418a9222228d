// programKindOf against libbpf itself: a tiny C harness (libbpf-sections/harness.c, built here with
// gcc against the installed libbpf-dev: Debian's libbpf 1.1) asks libbpf_prog_type_by_name() about
// sample names made from every definition of our table (libbpf 1.5, from the 6.12 source), plus
// near misses. Every name libbpf 1.1 classifies must get the same program type and expected attach
// type from us; the names it does not know must be unknown to us too, except those of definitions
// added to libbpf after 1.1, listed below. Needs gcc and libbpf-dev: skipped with a warning without
// them, except in CI, where it fails instead.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIBBPF_SECTION_DEFS, programKindOf } from "../src/section-defs.js";

const HARNESS_SRC = new URL("./libbpf-sections/harness.c", import.meta.url).pathname;

const problem = (() => {
  if (!existsSync("/usr/include/bpf/libbpf.h")) return "libbpf-dev is not installed";
  if (spawnSync("gcc", ["--version"]).status !== 0) return "gcc is not installed";
  return undefined;
})();
if (problem && !process.env.CI) console.warn(`[@x/loader] skipping the comparison of section names with libbpf: ${problem} (bash tools/setup.sh)`);

/**
 * Definitions of the 6.12 table (libbpf 1.5) that libbpf 1.1 does not have: names only they match
 * are unknown to the reference, and must be known to us.
 */
const NEWER_THAN_1_1 = [
  "kprobe.session+", "uprobe.multi+", "uretprobe.multi+", "uprobe.multi.s+", "uretprobe.multi.s+", "usdt.s+",
  "tc/ingress", "tc/egress", "tcx/ingress", "tcx/egress", "netkit/primary", "netkit/peer",
  "sk_skb/verdict", "cgroup/connect_unix", "cgroup/sendmsg_unix", "cgroup/recvmsg_unix", "cgroup/getpeername_unix",
  "cgroup/getsockname_unix", "struct_ops.s+", "netfilter",
];

/** Sample section names: each definition, its forms with extras, and near misses around it. */
function sampleNames(): string[] {
  const names = new Set<string>([
    "", "/", "?", "xdpx", "kprobex", "tcx", "tc/", "tc/foo", "XDP", " xdp", "xdp ", "sec", "cgroup", "cgroup/", "cgroup_skb",
    "kprobe/do_sys_open", "kretprobe/do_sys_open", "fentry/bpf_fentry_test1", "fexit/bpf_fentry_test1", "fmod_ret/bpf_modify_return_test",
    "tp_btf/sched_switch", "tracepoint/syscalls/sys_enter_openat", "tp/syscalls/sys_enter_openat", "raw_tp/sched_switch",
    "uprobe//proc/self/exe:main", "uretprobe.s/usr/lib/libc.so.6:malloc", "usdt/libc.so.6:libc:setjmp", "ksyscall/openat",
    "lsm/file_open", "lsm.s/bprm_committed_creds", "lsm_cgroup/socket_bind", "iter/task", "iter.s/task_file", "freplace/handler",
    "struct_ops/dummy_init", "kprobe.multi/do_*", "uprobe.multi/usr/bin/bash:readline", "xdp.frags/devmap/x", "sk_reuseport/migratex",
  ]);
  for (const d of LIBBPF_SECTION_DEFS) {
    const base = d.sec.replace(/[+/]$/, "");
    for (const n of [base, `${base}/foo`, `${base}/`, `${base}/a/b`, `${base}x`, `${base}.x`, `${base}.s`, `${base}.s/foo`, base.slice(0, -1), `${d.sec}`]) names.add(n);
  }
  // The harness reads one name per line.
  return [...names].filter((n) => !n.includes("\n")).sort();
}

interface Reference { found: boolean; progType?: number; attachType?: number }

let dir = "";
let harness = "";
let version = "";
beforeAll(() => {
  if (problem) return;
  dir = mkdtempSync(join(tmpdir(), "x-section-defs-libbpf-"));
  harness = join(dir, "harness");
  execFileSync("gcc", ["-O1", "-Wall", "-o", harness, HARNESS_SRC, "-lbpf"], { stdio: "pipe" });
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** libbpf_prog_type_by_name() for each name. */
function libbpf(names: readonly string[]): Map<string, Reference> {
  const out = execFileSync(harness, [], { input: names.map((n) => `${n}\n`).join(""), encoding: "utf8" }).split("\n");
  version = out.shift() ?? "";
  const refs = new Map<string, Reference>();
  for (const line of out.filter(Boolean)) {
    const [name, status, type, attach] = line.split("\t");
    refs.set(name!, status === "ok" ? { found: true, progType: Number(type), attachType: Number(attach) } : { found: false });
  }
  expect(refs.size).toBe(names.length);
  return refs;
}

describe.skipIf(problem !== undefined && !process.env.CI)("section names classified as libbpf classifies them (libbpf_prog_type_by_name)", () => {
  it("agrees with the installed libbpf on every name it knows, and knows only the newer definitions besides", () => {
    expect(problem, problem).toBeUndefined();
    const names = sampleNames();
    const refs = libbpf(names);
    expect(version).toMatch(/^libbpf \d+\.\d+$/);
    const disagreements: string[] = [];
    const onlyOurs = new Map<string, string[]>();
    let agreed = 0;
    for (const name of names) {
      const ref = refs.get(name)!;
      const ours = programKindOf(name);
      if (ref.found) {
        const got = ours && { progType: ours.progType, attachType: ours.attachType ?? 0 };
        if (got && got.progType === ref.progType && got.attachType === ref.attachType) agreed++;
        else disagreements.push(`${JSON.stringify(name)}: libbpf ${ref.progType}/${ref.attachType}, ours ${got ? `${got.progType}/${got.attachType}` : "unknown"}`);
      } else if (ours && !ours.loose) {
        // (Names only the looser rule of older loaders takes, `socket/1` say, are ours on purpose.)
        onlyOurs.set(ours.def.sec, [...(onlyOurs.get(ours.def.sec) ?? []), name]);
      }
    }
    console.log(`[@x/loader] ${names.length} section names against ${version}: ${agreed} classified alike, ${names.length - agreed - [...onlyOurs.values()].flat().length} unknown to both, ${[...onlyOurs.values()].flat().length} known only to the 6.12 table (${onlyOurs.size} newer definitions)`);
    expect(disagreements).toEqual([]);
    expect(agreed).toBeGreaterThan(150);
    // Whatever we know and libbpf 1.1 does not comes from a definition newer than 1.1.
    expect([...onlyOurs.keys()].sort()).toEqual([...NEWER_THAN_1_1].sort());
    // ... and each of those definitions is exercised with a name it matches.
    for (const sec of NEWER_THAN_1_1) expect(onlyOurs.get(sec)?.length, sec).toBeGreaterThan(0);
  });

  it("`?`-prefixed names: libbpf's classification of the rest, not autoloaded", () => {
    const names = sampleNames().filter((n) => !n.startsWith("?"));
    const refs = libbpf(names);
    for (const name of names) {
      const ref = refs.get(name)!;
      const ours = programKindOf(`?${name}`);
      if (!ref.found) continue;
      expect(ours, `?${name}`).toMatchObject({ section: name, progType: ref.progType, autoload: false });
      expect(ours?.attachType ?? 0, `?${name}`).toBe(ref.attachType);
    }
  });
});
