// Kernel adaptation on the running kernel: every sanitised form of the fixtures' BTF is BTF the
// kernel accepts, a load on a kernel with every feature neither sanitises nor drops BTF, and a
// failed load of a program type the kernel has is not blamed on the kernel.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BTF_SANITIZE_FEATURES, datasecSourceFromElf, fixupDatasecs, parseBtf, sanitizeBtf } from "@x/btf";
import { ElfFile } from "@x/elf";
import { loadObject, openObject } from "@x/loader";
import { AttachType, btfLoad, kernelVersion, probeAttachType, probeProgType, ProgType } from "@x/sys";
import { explainProgramFailure } from "../src/adapt.js";
import { fixture, haveKernel } from "./kernel.js";

function objectBtf(path: string) {
  const elf = ElfFile.parse(new Uint8Array(readFileSync(path)));
  const btf = parseBtf(elf.section(".BTF")!.data);
  fixupDatasecs(btf, datasecSourceFromElf(elf));
  return btf;
}

describe.runIf(haveKernel)("kernel adaptation on the running kernel", () => {
  // The objects this loader loads (kinds.bpfel.o, with extern VARs libbpf rewrites at open, is
  // covered against libbpf in packages/btf/test/sanitize.libbpf.test.ts instead).
  for (const name of ["globals", "sections", "example", "big", "sk_lookup"]) {
    const path = fixture(name);
    it(`${name}.bpf.o: the kernel accepts the BTF sanitised for each missing feature, and for all of them`, () => {
      const btf = objectBtf(path);
      for (const missing of [...BTF_SANITIZE_FEATURES.map((f) => [f]), [...BTF_SANITIZE_FEATURES]]) {
        const { btf: out } = sanitizeBtf(btf, missing);
        expect(() => btfLoad(out.encode()).close(), missing.join(",")).not.toThrow();
      }
    });
  }

  it("a kernel with every BTF feature: no sanitising, no BTF dropped", () => {
    const warnings: string[] = [];
    using obj = loadObject(openObject(fixture("globals")), { warn: (m) => warnings.push(m) });
    expect(obj).toBeDefined();
    expect(warnings.filter((w) => /BTF/.test(w))).toEqual([]);
  });

  it("program and attach types this kernel has are never blamed for a failure", () => {
    const probes = { progType: probeProgType, attachType: probeAttachType, kernel: kernelVersion };
    expect(explainProgramFailure("p", ProgType.SK_LOOKUP, AttachType.SK_LOOKUP, probes)).toBeUndefined();
    expect(explainProgramFailure("p", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_CONNECT, probes)).toBeUndefined();
    expect(explainProgramFailure("p", ProgType.SCHED_CLS, undefined, probes)).toBeUndefined();
  });
});
