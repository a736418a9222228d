// LINUX_KERNEL_VERSION as libbpf's get_kernel_version() computes it, on synthetic inputs: each
// branch (Ubuntu's /proc/version_signature, Debian's uname version, the uname release), the
// fall-through when a branch does not parse, and KERNEL_VERSION's cap on the patch level.
import { describe, expect, it } from "vitest";
import { KernelVersionError, kernelVersionCode, libbpfKernelVersionFrom } from "@x/sys";

const KV = (a: number, b: number, c: number) => (a << 16) + (b << 8) + Math.min(c, 255);

describe("kernelVersionCode (KERNEL_VERSION)", () => {
  it("packs major, minor and patch, the patch capped at 255", () => {
    expect(kernelVersionCode(6, 18, 44)).toBe(0x06122c);
    expect(kernelVersionCode(5, 10, 223)).toBe(0x050adf);
    expect(kernelVersionCode(4, 19, 300)).toBe(0x0413ff);
    expect(kernelVersionCode(4, 9, 337)).toBe(KV(4, 9, 255));
    expect(kernelVersionCode(0, 0, 0)).toBe(0);
  });
});

describe("libbpfKernelVersionFrom", () => {
  it("Ubuntu: the third field of /proc/version_signature wins over everything", () => {
    expect(
      libbpfKernelVersionFrom({
        versionSignature: "Ubuntu 5.4.0-12.15-generic 5.4.8\n",
        utsVersion: "#13-Ubuntu SMP Tue Jan 21 15:12:56 UTC 2020",
        utsRelease: "5.4.0-12-generic",
      }),
    ).toEqual({ major: 5, minor: 4, patch: 8, code: KV(5, 4, 8), source: "ubuntu" });
    expect(
      libbpfKernelVersionFrom({ versionSignature: "Ubuntu 5.15.0-91.101-generic 5.15.131", utsVersion: "#1 SMP Debian 1.2.3", utsRelease: "9.9.9" }),
    ).toMatchObject({ code: KV(5, 15, 131), source: "ubuntu" });
    // HWE kernels have high patch levels: capped.
    expect(libbpfKernelVersionFrom({ versionSignature: "Ubuntu 4.15.0-213.224-generic 4.15.18", utsVersion: "", utsRelease: "4.15.0-213-generic" })).toMatchObject({
      code: KV(4, 15, 18),
    });
  });

  it("Ubuntu: a signature that does not parse falls through", () => {
    expect(libbpfKernelVersionFrom({ versionSignature: "Ubuntu 5.4.0-12.15-generic", utsVersion: "#1 SMP", utsRelease: "5.4.0-12-generic" })).toMatchObject({
      code: KV(5, 4, 0),
      source: "uname",
    });
    expect(libbpfKernelVersionFrom({ versionSignature: "", utsVersion: "#1 SMP Debian 5.10.223-1 (2024-08-10)", utsRelease: "5.10.0-32-amd64" })).toMatchObject({
      source: "debian",
    });
  });

  it("Debian: the version after the first 'Debian ' in the uname version", () => {
    expect(libbpfKernelVersionFrom({ utsVersion: "#1 SMP Debian 4.19.260-1 (2022-09-29)", utsRelease: "4.19.0-22-amd64" })).toEqual({
      major: 4,
      minor: 19,
      patch: 260,
      code: KV(4, 19, 255),
      source: "debian",
    });
    expect(libbpfKernelVersionFrom({ utsVersion: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2025-10-20)", utsRelease: "6.1.0-50-amd64" })).toMatchObject({
      code: KV(6, 1, 176),
      source: "debian",
    });
    expect(libbpfKernelVersionFrom({ utsVersion: "#1 SMP PREEMPT_DYNAMIC Debian 6.12.95-1~bpo12+1 (2026-01-01)", utsRelease: "6.12.95+deb12-amd64" })).toMatchObject({
      code: KV(6, 12, 95),
      source: "debian",
    });
    // Only the first "Debian " counts: if it is not followed by X.Y.Z, libbpf falls through to uname.
    expect(libbpfKernelVersionFrom({ utsVersion: "#1 SMP Debian kernel, Debian 5.10.223-1", utsRelease: "5.10.0-32-amd64" })).toMatchObject({
      code: KV(5, 10, 0),
      source: "uname",
    });
    // "Debian" without the space is not Debian's marker.
    expect(libbpfKernelVersionFrom({ utsVersion: "#1 SMP Debian-5.10.223", utsRelease: "5.10.0-32-amd64" })).toMatchObject({ source: "uname" });
  });

  it("uname: the release must start with X.Y.Z", () => {
    expect(libbpfKernelVersionFrom({ utsVersion: "#1 SMP PREEMPT_DYNAMIC @0", utsRelease: "6.18.44-fc-v669" })).toEqual({
      major: 6,
      minor: 18,
      patch: 44,
      code: KV(6, 18, 44),
      source: "uname",
    });
    expect(libbpfKernelVersionFrom({ utsVersion: "#1", utsRelease: "4.9.337" })).toMatchObject({ code: KV(4, 9, 255) });
    // sscanf("%u.%u.%u") needs three numbers; parseKernelVersion accepts two, libbpf does not.
    expect(libbpfKernelVersionFrom({ utsVersion: "#1", utsRelease: "6.1" })).toBeUndefined();
    expect(libbpfKernelVersionFrom({ utsVersion: "#1", utsRelease: "banana" })).toBeUndefined();
  });

  it("a zero version counts as none, as in libbpf (0 is its failure value)", () => {
    expect(libbpfKernelVersionFrom({ versionSignature: "Ubuntu x 0.0.0", utsVersion: "#1", utsRelease: "5.15.1" })).toMatchObject({ source: "uname" });
  });

  it("KernelVersionError says what was tried", () => {
    const e = new KernelVersionError("6.1", "#1 SMP");
    expect(e).toMatchObject({ code: "KERNEL_VERSION_UNKNOWN", release: "6.1", version: "#1 SMP" });
    expect(e.message).toMatch(/no \/proc\/version_signature, no "Debian X\.Y\.Z" in the uname version "#1 SMP", and the release "6\.1" is not X\.Y\.Z/);
  });
});
