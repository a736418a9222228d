// Probes that cannot tell: the feature probes run in a child process that has dropped every
// privilege (setpriv: no capabilities in any set, none to regain on exec). What an unprivileged bpf(2) gets depends on
// kernel.unprivileged_bpf_disabled: with it set (1 or 2, the default of Debian's kernels) every
// command fails with EPERM, so every feature the kernel has must come out "unknown" with EPERM as
// the reason, never "missing"; with it 0, a few (socket filters, array maps) work, the rest are
// still EPERM. BPF_BTF_LOAD always needs CAP_BPF, so hasFeature("btf") must throw
// ProbeInconclusiveError naming the feature either way.
//
// The child stays uid 0, so it can still read this checkout wherever it lives (a clean clone under a
// private temporary folder); bpf(2) decides by capability (CAP_BPF, CAP_SYS_ADMIN), not by uid. It
// imports the built @x/sys (packages/sys/dist, which the test command builds first).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { FEATURES, probeFeature, ProgType, probeProgType, type ProbeResult, type TypeProbeResult } from "@x/sys";
import { haveKernel } from "./kernel.js";

const packages = fileURLToPath(new URL("../../", import.meta.url));
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));
const runnable = haveKernel && SETPRIV !== undefined && process.getuid?.() === 0;
if (haveKernel && !runnable && process.env.CI) throw new Error("the unprivileged probe test needs setpriv (util-linux) and root in CI");

/** `kernel.unprivileged_bpf_disabled` (0 when the kernel has no such sysctl). */
function unprivilegedBpfDisabled(): number {
  try {
    return Number(readFileSync("/proc/sys/kernel/unprivileged_bpf_disabled", "utf8").trim());
  } catch {
    return 0;
  }
}

const CHILD = `
const sys = await import(${JSON.stringify(pathToFileURL(join(packages, "sys", "dist", "index.js")).href)});
const attempt = (fn) => {
  try { return { value: fn() }; }
  catch (e) { return { threw: { name: e.name, code: e.code, feature: e.feature, errno: e.errno, message: e.message, inconclusive: e instanceof sys.ProbeInconclusiveError } }; }
};
const out = {
  capEff: /CapEff:\\s*(\\w+)/.exec((await import("node:fs")).readFileSync("/proc/self/status", "utf8"))[1],
  features: sys.probeAll(),
  socketFilter: sys.probeProgType(sys.ProgType.SOCKET_FILTER),
  hasBtf: attempt(() => sys.hasFeature("btf")),
  requireBtf: attempt(() => sys.requireFeature("btf")),
};
process.stdout.write(JSON.stringify(out));
`;

interface Thrown { name: string; code: string; feature: string; errno?: string; message: string; inconclusive: boolean }
interface ChildReport {
  capEff: string;
  features: ProbeResult[];
  socketFilter: TypeProbeResult;
  hasBtf: { value?: boolean; threw?: Thrown };
  requireBtf: { value?: undefined; threw?: Thrown };
}

const dir = mkdtempSync(join(tmpdir(), "x-sys-unpriv-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(runnable)("feature probes without privileges", () => {
  let report: ChildReport;
  const disabled = unprivilegedBpfDisabled();

  it("run in a child with no capabilities", () => {
    writeFileSync(join(dir, "child.mjs"), CHILD);
    const stdout = execFileSync(
      SETPRIV!,
      ["--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", process.execPath, join(dir, "child.mjs")],
      { cwd: dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir }, encoding: "utf8", timeout: 150_000 },
    );
    report = JSON.parse(stdout) as ChildReport;
    expect(report.capEff).toBe("0000000000000000");
    expect(report.features.map((f) => f.name).sort()).toEqual(Object.keys(FEATURES).sort());
  }, 180_000); // starting Node and probing everything is slow in the TCG VMs

  it(`what root finds supported is never "missing" unprivileged: unknown with EPERM (unprivileged_bpf_disabled=${disabled})`, () => {
    for (const f of report.features) {
      const asRoot = probeFeature(f.name).status;
      if (asRoot !== "supported") {
        // The kernel lacks it (kfunc_call before 6.2: its BTF has no bpf_rcu_read_lock): no answer may claim it.
        expect(f.status, f.name).not.toBe("supported");
        continue;
      }
      if (disabled !== 0) {
        expect(f, f.name).toMatchObject({ status: "unknown", supported: false, errno: "EPERM" });
        expect(f.error, f.name).toMatch(/EPERM/);
      } else {
        expect(["supported", "unknown"], f.name).toContain(f.status);
        if (f.status === "unknown") expect(["EPERM", "EACCES"], `${f.name}: ${f.error}`).toContain(f.errno);
      }
    }
    // BTF_LOAD always needs CAP_BPF.
    expect(report.features.find((f) => f.name === "btf")).toMatchObject({ status: "unknown", errno: "EPERM" });
    const sf = report.socketFilter;
    if (disabled !== 0) expect(sf).toMatchObject({ status: "unknown", errno: "EPERM" });
    else expect(sf.status).toBe(probeProgType(ProgType.SOCKET_FILTER).status);
  });

  it("hasFeature and requireFeature throw ProbeInconclusiveError naming the feature and the errno", () => {
    for (const r of [report.hasBtf, report.requireBtf]) {
      expect(r.threw).toMatchObject({ name: "ProbeInconclusiveError", code: "PROBE_INCONCLUSIVE", feature: "btf", errno: "EPERM", inconclusive: true });
      expect(r.threw!.message).toMatch(/^cannot tell whether the running kernel supports btf: its probe failed with EPERM \(BPF_BTF_LOAD failed: EPERM/);
    }
  });
});
