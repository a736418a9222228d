// The kernel configuration: reading (plain or gzip, the first readable of libbpf's two paths,
// an error naming both) and the libbpf line splitter, on files and text made here.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { bootConfigPath, KconfigError, PROC_CONFIG_GZ_PATH, readKernelConfig } from "@x/sys";

const dir = mkdtempSync(join(tmpdir(), "x-sys-kconfig-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG = `#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_CC_VERSION_TEXT="gcc (Debian 12.2.0-14) 12.2.0"
CONFIG_HZ=250
# CONFIG_KALLSYMS_ALL is not set
CONFIG_BPF=y
CONFIG_9P_FS=m
CONFIG_PHYSICAL_START=0x1000000
CONFIG_NR_CPUS=-1
`;

describe("readKernelConfig", () => {
  it("libbpf's paths: /boot/config-$(uname -r), then /proc/config.gz", () => {
    expect(bootConfigPath()).toBe(`/boot/config-${release()}`);
    expect(bootConfigPath("5.10.0-32-amd64")).toBe("/boot/config-5.10.0-32-amd64");
    expect(PROC_CONFIG_GZ_PATH).toBe("/proc/config.gz");
  });

  it("takes the first readable file, plain or gzip-compressed (libbpf's gzopen takes both)", () => {
    const plain = join(dir, "config-plain"), gz = join(dir, "config.gz"), gzBoot = join(dir, "config-gz");
    writeFileSync(plain, CONFIG);
    writeFileSync(gz, gzipSync(CONFIG));
    writeFileSync(gzBoot, gzipSync("CONFIG_A=y\n"));
    const missing = join(dir, "missing");
    expect(readKernelConfig([plain, gz])).toEqual({ path: plain, text: CONFIG });
    expect(readKernelConfig([missing, gz])).toEqual({ path: gz, text: CONFIG });
    expect(readKernelConfig([gzBoot, gz])).toEqual({ path: gzBoot, text: "CONFIG_A=y\n" });
  });

  it("neither readable: one error naming both paths and why", () => {
    const a = join(dir, "no-boot-config"), b = join(dir, "no-config.gz");
    let err: unknown;
    try {
      readKernelConfig([a, b]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KconfigError);
    expect(err).toMatchObject({ code: "KCONFIG_UNREADABLE", attempts: [{ path: a, error: "ENOENT" }, { path: b, error: "ENOENT" }] });
    expect((err as Error).message).toBe(
      `cannot read the running kernel's configuration: tried ${a} (ENOENT), ${b} (ENOENT); CONFIG_ externs need the kernel's config installed in /boot or built in (CONFIG_IKCONFIG_PROC)`,
    );
  });

  it("a file that is not gzip after all is an attempt that failed, and the next is tried", () => {
    const bad = join(dir, "bad.gz");
    writeFileSync(bad, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from("garbage")]));
    const good = join(dir, "good");
    writeFileSync(good, "CONFIG_B=m\n");
    expect(readKernelConfig([bad, good]).path).toBe(good);
    expect(() => readKernelConfig([bad])).toThrow(/tried .*bad\.gz \(Z_/);
  });
});

