// Pure-logic tests of the VM runner: apt sources → mirror URI, modprobe --show-depends → module list,
// vitest JSON → matrix cells (including the UnsupportedFeatureError convention) and the rendered matrix.
import { describe, expect, it } from "vitest";
import { UnsupportedFeatureError } from "@x/sys";
import { KernelConfigError } from "../../packages/sys/test/modules.js";
// @ts-expect-error plain JavaScript module without declarations
import { findMirror, parseDeb822, parseOneLine, pickMirror } from "../lib/apt-sources.mjs";
// @ts-expect-error plain JavaScript module without declarations
import { parseShowDepends } from "../lib/modules.mjs";
// @ts-expect-error plain JavaScript module without declarations
import { classifyReport, firstFrame, firstLine, kernelCells, parseUnsupported } from "../lib/classify.mjs";
// @ts-expect-error plain JavaScript module without declarations
import { cellText, kernelVerdict, renderMatrix } from "../lib/matrix.mjs";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MIRROR = "http://mirror.invalid/debian";

describe("apt sources", () => {
  const deb822 = [
    "Types: deb",
    "# a comment",
    `URIs: ${MIRROR}/`,
    "Suites: bookworm bookworm-updates",
    "Components: main",
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
    "",
    "Types: deb",
    "URIs: http://mirror.invalid/debian-security",
    "Suites: bookworm-security",
    "Components: main",
  ].join("\n");

  it("reads deb822 stanzas and picks the archive, not the security one", () => {
    const e = parseDeb822(deb822);
    expect(e).toHaveLength(2);
    expect(e[0]).toEqual({ uri: `${MIRROR}/`, suites: ["bookworm", "bookworm-updates"], components: ["main"] });
    expect(pickMirror(e)).toBe(MIRROR);
    expect(pickMirror([...e].reverse())).toBe(MIRROR);
  });

  it("skips disabled and deb-src stanzas and third-party repositories", () => {
    const text = [
      "Types: deb-src",
      "URIs: http://src.invalid/debian",
      "Suites: bookworm",
      "",
      "Types: deb",
      "URIs: http://off.invalid/debian",
      "Suites: bookworm",
      "Enabled: no",
      "",
      "Types: deb",
      "URIs: https://vendor.invalid/node_20.x",
      "Suites: nodistro",
      "Components: main",
    ].join("\n");
    const e = [...parseDeb822(text), ...parseOneLine(`deb [arch=amd64 signed-by=/k.gpg] ${MIRROR} trixie main contrib`)];
    expect(e.map((x: { uri: string }) => x.uri)).toEqual(["https://vendor.invalid/node_20.x", MIRROR]);
    expect(pickMirror(e)).toBe(MIRROR);
  });

  it("reads one-line sources.list entries, ignoring comments and deb-src", () => {
    const e = parseOneLine(`# deb http://old.invalid/debian buster main\ndeb-src ${MIRROR} bookworm main\ndeb ${MIRROR} bookworm main\n`);
    expect(e).toEqual([{ uri: MIRROR, suites: ["bookworm"], components: ["main"] }]);
  });

  it("finds the mirror in an apt configuration folder", () => {
    const etc = mkdtempSync(join(tmpdir(), "xbpf-apt-"));
    mkdirSync(join(etc, "sources.list.d"));
    writeFileSync(join(etc, "sources.list.d", "debian.sources"), deb822);
    expect(findMirror(etc)).toBe(MIRROR);
    const empty = mkdtempSync(join(tmpdir(), "xbpf-apt-"));
    expect(findMirror(empty)).toBeUndefined();
  });
});

describe("modprobe --show-depends", () => {
  it("keeps insmod lines in order, once each, and drops builtins", () => {
    const out = [
      "insmod /t/lib/modules/6.1.0-50-amd64/kernel/drivers/virtio/virtio.ko ",
      "insmod /t/lib/modules/6.1.0-50-amd64/kernel/drivers/virtio/virtio_ring.ko ",
      "insmod /t/lib/modules/6.1.0-50-amd64/kernel/drivers/virtio/virtio_pci.ko ",
      "insmod /t/lib/modules/6.1.0-50-amd64/kernel/drivers/virtio/virtio.ko ",
      "builtin virtio_pci",
      "insmod /t/lib/modules/6.1.0-50-amd64/kernel/fs/9p/9p.ko.xz  debug=0",
      "",
    ].join("\n");
    expect(parseShowDepends(out)).toEqual([
      "/t/lib/modules/6.1.0-50-amd64/kernel/drivers/virtio/virtio.ko",
      "/t/lib/modules/6.1.0-50-amd64/kernel/drivers/virtio/virtio_ring.ko",
      "/t/lib/modules/6.1.0-50-amd64/kernel/drivers/virtio/virtio_pci.ko",
      "/t/lib/modules/6.1.0-50-amd64/kernel/fs/9p/9p.ko.xz",
    ]);
    expect(parseShowDepends("builtin overlay\n")).toEqual([]);
  });
});

const unsupportedStack = () => {
  const e = new UnsupportedFeatureError("bpf_mmap", "5.5", "BPF_F_MMAPABLE array maps");
  return String(e.stack);
};

function report(root: string) {
  const t = (title: string, status: string, failureMessages: string[] = []) => ({
    ancestorTitles: ["suite"],
    title,
    status,
    failureMessages,
  });
  return {
    testResults: [
      { name: `${root}/packages/a/test/pass.kernel.test.ts`, status: "passed", message: "", assertionResults: [t("one", "passed"), t("two", "skipped")] },
      {
        name: `${root}/packages/a/test/mixed.kernel.test.ts`,
        status: "failed",
        message: "",
        assertionResults: [t("ok", "passed"), t("mmap", "failed", [unsupportedStack()])],
      },
      {
        name: `${root}/packages/a/test/broken.kernel.test.ts`,
        status: "failed",
        message: "",
        assertionResults: [t("bad", "failed", ["\x1b[31mAssertionError: expected 1 to be 2\x1b[39m\n    at x (/r/file.ts:1:1)"]), t("mmap", "failed", [unsupportedStack()])],
      },
      { name: `${root}/packages/a/test/import.kernel.test.ts`, status: "failed", message: "Error: Cannot find module 'x'\n at y", assertionResults: [] },
      { name: `${root}/packages/a/test/setup.kernel.test.ts`, status: "failed", message: unsupportedStack(), assertionResults: [] },
      { name: `${root}/packages/a/test/skipped.kernel.test.ts`, status: "skipped", message: "", assertionResults: [t("x", "skipped"), t("y", "todo")] },
    ],
  };
}

describe("classification", () => {
  it("recognises an UnsupportedFeatureError by its message, as vitest reports it", () => {
    expect(parseUnsupported(unsupportedStack())).toEqual({ feature: "bpf_mmap", minKernel: "5.5", reason: "BPF_F_MMAPABLE array maps" });
    const withParens = new UnsupportedFeatureError("btf_func", "5.0", "BTF (func) records [probe: EINVAL (22)]");
    expect(parseUnsupported(`${withParens.stack}`)).toEqual({ feature: "btf_func", minKernel: "5.0", reason: "BTF (func) records [probe: EINVAL (22)]" });
    // A description with its own "(needs …)" still gives the version of the closing parenthesis.
    const inner = new UnsupportedFeatureError("map_freeze", "5.2", "this kernel cannot freeze maps (needs kernel ≥ 5.2)");
    expect(parseUnsupported(`${inner.stack}`)).toMatchObject({ feature: "map_freeze", minKernel: "5.2" });
    expect(parseUnsupported("Error: the running kernel does not like it")).toBeUndefined();
    expect(parseUnsupported(undefined)).toBeUndefined();
  });

  it("recognises a configuration requirement (KernelConfigError of packages/sys/test/modules.ts)", () => {
    const e = new KernelConfigError("nf_conntrack.ko", "nf_conntrack built as a module", "nf_conntrack is built into the kernel (see vmlinux)");
    expect(parseUnsupported(`${e.stack}`)).toEqual({
      feature: "nf_conntrack.ko",
      minKernel: "nf_conntrack built as a module",
      reason: "nf_conntrack is built into the kernel (see vmlinux)",
    });
    const noModules = new KernelConfigError("kernel_modules", "CONFIG_MODULES=y", "no /proc/modules");
    expect(parseUnsupported(`${noModules.stack}`)).toMatchObject({ feature: "kernel_modules", minKernel: "CONFIG_MODULES=y" });
    expect(parseUnsupported("Error: x (needs CONFIG_MODULES=y)")).toBeUndefined();
  });

  it("gives each file one cell: fail beats unsupported beats pass beats skip", () => {
    const cells = classifyReport(report("/r"), "/r");
    const by = Object.fromEntries(cells.map((c: { file: string }) => [c.file.replace("packages/a/test/", ""), c]));
    expect(by["pass.kernel.test.ts"]).toMatchObject({ status: "pass", counts: { passed: 1, skipped: 1, failed: 0, unsupported: 0 } });
    expect(by["mixed.kernel.test.ts"]).toMatchObject({
      status: "unsupported",
      counts: { passed: 1, unsupported: 1 },
      unsupported: [{ test: "suite > mmap", feature: "bpf_mmap", minKernel: "5.5" }],
    });
    expect(by["broken.kernel.test.ts"]).toMatchObject({
      status: "fail",
      failures: [{ test: "suite > bad", message: "AssertionError: expected 1 to be 2", where: "file.ts:1" }],
    });
    expect(by["import.kernel.test.ts"]).toMatchObject({ status: "fail", failures: [{ test: "(file)", message: "Error: Cannot find module 'x'" }] });
    expect(by["setup.kernel.test.ts"]).toMatchObject({ status: "unsupported", unsupported: [{ feature: "bpf_mmap" }] });
    expect(by["skipped.kernel.test.ts"].status).toBe("skip");
  });

  it("turns files without a result into failures carrying the VM status", () => {
    const cells = kernelCells(["packages/a/test/pass.kernel.test.ts", "packages/b/test/gone.kernel.test.ts"], report("/r"), "/r", { status: "ok", rc: 1 });
    expect(cells.find((c: { file: string }) => c.file.endsWith("gone.kernel.test.ts"))).toMatchObject({
      status: "fail",
      failures: [{ message: "no result (vitest exit 1)" }],
    });
    const panicked = kernelCells(["packages/a/test/pass.kernel.test.ts"], undefined, "/r", { status: "panic", rc: 1 });
    expect(panicked).toMatchObject([{ status: "fail", failures: [{ message: "no result (VM panic)" }] }]);
  });

  it("keeps the first meaningful line of a message", () => {
    expect(firstLine("\n  \x1b[1mTypeError: x\x1b[22m\n    at f (a.ts:1:1)")).toBe("TypeError: x");
    expect(firstLine(undefined)).toBe("");
    const stack = "Error: x\n    at f (file:///r/node_modules/vitest/a.js:1:2)\n    at /r/packages/a/test/b.kernel.test.ts:38:51\n";
    expect(firstFrame(stack, "/r")).toBe("packages/a/test/b.kernel.test.ts:38");
    expect(firstFrame("Error: x", "/r")).toBe("");
    const deep = "BpfSyscallError: E2BIG\n    at bpf (/r/packages/sys/src/syscall.ts:80:27)\n    at /r/packages/sys/test/btf.test.ts:12:18";
    expect(firstFrame(deep, "/r")).toBe("packages/sys/test/btf.test.ts:12");
    expect(firstFrame("E\n    at bpf (/r/packages/sys/src/syscall.ts:80:27)", "/r")).toBe("packages/sys/src/syscall.ts:80");
  });
});

describe("matrix", () => {
  const files = ["packages/a/test/pass.kernel.test.ts", "packages/a/test/mixed.kernel.test.ts"];
  const twoFiles = () => {
    const r = report("/r");
    r.testResults = r.testResults.filter((t) => files.some((f) => t.name.endsWith(f)));
    return r;
  };
  const kernel = (name: string, vm = { status: "ok", rc: 0 }) => ({
    name,
    suite: "bookworm",
    kver: "6.1.0-50-amd64",
    pkg: "linux-image-6.1.0-50-amd64",
    debver: "6.1.176-1",
    accel: "tcg",
    seconds: 42,
    vm,
    cells: kernelCells(files, vm.status === "ok" ? twoFiles() : undefined, "/r", vm),
  });

  it("renders cells, verdicts and the reasons of unsupported cells", () => {
    const k = kernel("6.1");
    expect(cellText(k.cells[0])).toBe("pass 1/2 (1 skipped)");
    expect(cellText(k.cells[1])).toBe("unsupported 1/2: bpf_mmap needs 5.5");
    expect(kernelVerdict(k)).toBe("pass (some unsupported)");
    const md = renderMatrix([k, kernel("5.10", { status: "timeout", rc: 1 })]);
    expect(md).toContain("| 6.1 | bookworm | 6.1.176-1 | 6.1.0-50-amd64 | tcg | 42 s | 2/0/1/1 | pass (some unsupported) |");
    expect(md).toContain("| a/test/mixed.kernel.test.ts | unsupported 1/2: bpf_mmap needs 5.5 | **fail**: no result (VM timeout) |");
    expect(md).toContain("- 6.1 packages/a/test/mixed.kernel.test.ts: unsupported: bpf_mmap needs 5.5 — suite > mmap: BPF_F_MMAPABLE array maps\n");
    expect(md).toContain("- 5.10: VM timeout");
    expect(kernelVerdict(kernel("5.10", { status: "panic", rc: 1 }))).toBe("panic");
  });
});
