// The process-wide cache of the kernel's BTF bytes (and the FileCache it is made of).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FileCache, VMLINUX_BTF_PATH, vmlinuxBtfBytes, vmlinuxBtfCache } from "@x/sys";

const dir = mkdtempSync(join(tmpdir(), "x-sys-filecache-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("FileCache", () => {
  it("reads the file on first use only, until cleared", () => {
    const path = join(dir, "a");
    writeFileSync(path, "one");
    const c = new FileCache(path);
    expect(c.filled).toBe(false);
    const first = c.bytes();
    expect(Buffer.from(first).toString()).toBe("one");
    expect(c.filled).toBe(true);
    writeFileSync(path, "two");
    expect(c.bytes()).toBe(first);
    c.clear();
    expect(c.filled).toBe(false);
    expect(Buffer.from(c.bytes()).toString()).toBe("two");
  });

  it("does not cache a failed read", () => {
    const path = join(dir, "later");
    const c = new FileCache(path);
    expect(() => c.bytes()).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(c.filled).toBe(false);
    writeFileSync(path, "now");
    expect(Buffer.from(c.bytes()).toString()).toBe("now");
  });
});

describe.runIf(existsSync(VMLINUX_BTF_PATH))("vmlinuxBtfBytes", () => {
  it("is the running kernel's BTF, read once per process", () => {
    expect(vmlinuxBtfCache.path).toBe("/sys/kernel/btf/vmlinux");
    const a = vmlinuxBtfBytes();
    expect(vmlinuxBtfCache.filled).toBe(true);
    expect(vmlinuxBtfBytes()).toBe(a);
    expect(Buffer.from(a).equals(readFileSync(VMLINUX_BTF_PATH))).toBe(true);
    expect(a[0]! | (a[1]! << 8)).toBe(0xeb9f); // BTF magic, host order
  });
});
