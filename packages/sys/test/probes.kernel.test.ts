import { describe, expect, it } from "vitest";
import {
  FEATURES,
  type FeatureName,
  UnsupportedFeatureError,
  compareKernelVersions,
  hasFeature,
  kernelVersion,
  parseKernelVersion,
  probeAll,
  probeFeature,
  requireFeature,
} from "@x/sys";
import { haveKernel } from "./kernel.js";
import { refusedByPolicy } from "./refused.js";

describe("kernel version", () => {
  it("parses release strings", () => {
    expect(parseKernelVersion("6.18.44-fc-v669")).toMatchObject({ major: 6, minor: 18, patch: 44, code: (6 << 16) | (18 << 8) | 44 });
    expect(parseKernelVersion("5.4")).toMatchObject({ major: 5, minor: 4, patch: 0 });
    expect(parseKernelVersion("4.19.300").code).toBe((4 << 16) | (19 << 8) | 255);
    expect(() => parseKernelVersion("banana")).toThrow(/cannot parse/);
    expect(compareKernelVersions("5.10", "5.2")).toBeGreaterThan(0);
    expect(kernelVersion().major).toBeGreaterThanOrEqual(4);
  });

  it("every feature has a version and a description", () => {
    for (const f of Object.values(FEATURES)) {
      expect(f.minKernel).toMatch(/^\d+\.\d+$/);
      expect(f.description.length).toBeGreaterThan(5);
    }
  });
});

describe.runIf(haveKernel)("feature probes", () => {
  it("there is one probe per feature", () => {
    expect(probeAll().map((r) => r.name).sort()).toEqual(Object.keys(FEATURES).sort());
  });

  // One test per feature, so that a kernel refusing one of them by policy (see refused.ts) reports
  // that feature unsupported and the others still pass.
  it.each(Object.keys(FEATURES) as FeatureName[])("%s is supported when the kernel is at least as new as the feature", (name) => {
    const r = probeFeature(name);
    if (compareKernelVersions(kernelVersion(), r.minKernel) < 0) return;
    const refused = refusedByPolicy(r);
    if (refused) throw refused;
    expect(r, `${r.name}: ${r.error ?? ""}`).toMatchObject({ supported: true });
  });

  it("probes run once and are cached", () => {
    const a = probeFeature("btf");
    expect(probeFeature("btf")).toBe(a);
    expect(hasFeature("btf")).toBe(a.supported);
    expect(() => requireFeature("btf")).not.toThrow();
  });
});

describe("UnsupportedFeatureError", () => {
  it("says what is missing and since when", () => {
    const e = new UnsupportedFeatureError("arena", "6.9", "BPF_MAP_TYPE_ARENA");
    expect(e.code).toBe("UNSUPPORTED_FEATURE");
    expect(e.message).toBe("the running kernel does not support arena: BPF_MAP_TYPE_ARENA (needs Linux 6.9 or newer)");
  });
});
