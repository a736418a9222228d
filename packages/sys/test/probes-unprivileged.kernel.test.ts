// Probes that cannot tell: the feature probes run in a child process that has dropped every
// privilege (setpriv to nobody, no capabilities). What an unprivileged bpf(2) gets depends on
// kernel.unprivileged_bpf_disabled: with it set (1 or 2, the default of Debian's kernels) every
// command fails with EPERM, so every feature the kernel has must come out "unknown" with EPERM as
// the reason, never "missing"; with it 0, a few (socket filters, array maps) work, the rest are
// still EPERM. BPF_BTF_LOAD always needs CAP_BPF, so hasFeature("btf") must throw
// ProbeInconclusiveError naming the feature either way.
//
// The child runs this tree's sources: they are transpiled (TypeScript's transpileModule) into a
// temporary node_modules/@x/{elf,btf,reloc,sys} that nobody can read.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
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

/** Transpile packages/NAME/src/**.ts to ROOT/node_modules/@x/NAME/**.js, importable by plain Node. */
function transpile(root: string, name: string): void {
  const src = join(packages, name, "src");
  const out = join(root, "node_modules", "@x", name);
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
  for (const file of walk(src).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))) {
    const js = ts.transpileModule(readFileSync(file, "utf8"), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    }).outputText;
    const dest = join(out, relative(src, file)).replace(/\.ts$/, ".js");
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, js);
  }
  writeFileSync(join(out, "package.json"), JSON.stringify({ name: `@x/${name}`, type: "module", exports: { ".": "./index.js", "./*": "./*.js" } }));
}

const CHILD = `
import * as sys from "@x/sys";
const attempt = (fn) => {
  try { return { value: fn() }; }
  catch (e) { return { threw: { name: e.name, code: e.code, feature: e.feature, errno: e.errno, message: e.message, inconclusive: e instanceof sys.ProbeInconclusiveError } }; }
};
const out = {
  uid: process.getuid(),
  features: sys.probeAll(),
  socketFilter: sys.probeProgType(sys.ProgType.SOCKET_FILTER),
  hasBtf: attempt(() => sys.hasFeature("btf")),
  requireBtf: attempt(() => sys.requireFeature("btf")),
};
process.stdout.write(JSON.stringify(out));
`;

interface Thrown { name: string; code: string; feature: string; errno?: string; message: string; inconclusive: boolean }
interface ChildReport {
  uid: number;
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

  it("run in a child as nobody with no capabilities", () => {
    for (const name of ["elf", "btf", "reloc", "sys"]) transpile(dir, name);
    symlinkSync(realpathSync(join(packages, "sys", "node_modules", "koffi")), join(dir, "node_modules", "koffi"));
    writeFileSync(join(dir, "child.mjs"), CHILD);
    chmodSync(dir, 0o755);
    const stdout = execFileSync(
      SETPRIV!,
      ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", process.execPath, join(dir, "child.mjs")],
      { cwd: dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir }, encoding: "utf8", timeout: 150_000 },
    );
    report = JSON.parse(stdout) as ChildReport;
    expect(report.uid).toBe(65534);
    expect(report.features.map((f) => f.name).sort()).toEqual(Object.keys(FEATURES).sort());
  }, 180_000); // transpiling and starting Node twice is slow in the TCG VMs

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
