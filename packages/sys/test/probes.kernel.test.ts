import { describe, expect, it } from "vitest";
import {
  FEATURES,
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
  it("every probe succeeds on a kernel newer than all of them", () => {
    const results = probeAll();
    expect(results.map((r) => r.name).sort()).toEqual(Object.keys(FEATURES).sort());
    const newest = results.map((r) => r.minKernel).sort(compareKernelVersions).at(-1)!;
    if (compareKernelVersions(kernelVersion(), newest) >= 0) {
      for (const r of results) expect(r, `${r.name}: ${r.error ?? ""}`).toMatchObject({ supported: true });
    }
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
