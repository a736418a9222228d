// `xbpf probe` shows three answers: yes, no, and unknown with the reason (the probes are faked here).
import { describe, expect, it, vi } from "vitest";
import type { ProbeResult, TypeProbeResult } from "@x/sys";
import { xbpf } from "./xbpf.js";

vi.mock("@x/sys", async (importOriginal) => {
  const real = await importOriginal<typeof import("@x/sys")>();
  const feature = (name: string, status: ProbeResult["status"], errno?: string, error?: string) =>
    ({ name, minKernel: "5.2", description: `${name} things`, status, supported: status === "supported", ...(errno ? { errno } : {}), ...(error ? { error } : {}) }) as ProbeResult;
  const progType = (name: string, status: TypeProbeResult["status"], errno?: string) =>
    ({ name: `prog_type ${name}`, minKernel: "4.1", description: name, status, supported: status === "supported", ...(errno ? { errno } : {}) }) as TypeProbeResult;
  return {
    ...real,
    kernelVersion: () => real.parseKernelVersion("6.1.0-test"),
    probeAll: () => [
      feature("global_data", "supported"),
      feature("arena", "missing", "EINVAL", "BPF_MAP_CREATE failed: EINVAL (Invalid argument)"),
      feature("btf", "unknown", "EPERM", "BPF_BTF_LOAD failed: EPERM (Operation not permitted)"),
    ],
    probeProgTypes: () => [progType("XDP", "supported"), progType("LSM", "unknown"), progType("NETFILTER", "unknown", "EPERM")],
  };
});

describe("xbpf probe", () => {
  it("text: yes, no, unknown (ERRNO), and why it could not tell", async () => {
    const r = await xbpf("probe");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^global_data\s+yes\s+5\.2/m);
    expect(r.out).toMatch(/^arena\s+no\s+5\.2/m);
    expect(r.out).toMatch(/^btf\s+unknown \(EPERM\)\s+5\.2/m);
    expect(r.out).toContain("could not tell:\n  btf: BPF_BTF_LOAD failed: EPERM (Operation not permitted)");
    expect(r.out).not.toMatch(/^\s+arena:/m);
    expect(r.out).toMatch(/^LSM\s+unknown\s+4\.1/m);
    expect(r.out).toMatch(/^NETFILTER\s+unknown \(EPERM\)\s+4\.1/m);
  });

  it("--json: a status per feature and program type, with errno and error", async () => {
    const j = (await xbpf("probe", "--json")).json();
    expect(j.kernel).toBe("6.1.0-test");
    expect(j.features).toEqual([
      { name: "global_data", status: "supported", supported: true, since: "5.2", description: "global_data things", errno: null, error: null },
      { name: "arena", status: "missing", supported: false, since: "5.2", description: "arena things", errno: "EINVAL", error: "BPF_MAP_CREATE failed: EINVAL (Invalid argument)" },
      { name: "btf", status: "unknown", supported: false, since: "5.2", description: "btf things", errno: "EPERM", error: "BPF_BTF_LOAD failed: EPERM (Operation not permitted)" },
    ]);
    expect(j.programTypes.map((t: { status: string }) => t.status)).toEqual(["supported", "unknown", "unknown"]);
  });
});
