// Opening, inspecting and patching never load the kernel layer: the built CLI runs in a process
// where koffi cannot be resolved and importing @x/sys's main entry throws (no-kernel/preload.mjs),
// both as the `xbpf` executable (its bundle, where @x/sys is inlined: koffi is what it cannot load)
// and as the unbundled modules (dist/main.js, where importing @x/sys itself throws). `xbpf load` in
// the same process fails, which shows the guard works.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { openObject } from "@x/loader/open";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const preload = fileURLToPath(new URL("./no-kernel/preload.mjs", import.meta.url));
const example = join(root, "fixtures/obj/example.bpf.o");
const dir = mkdtempSync(join(tmpdir(), "xbpf-no-kernel-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The built CLI (packages/cli/bin/xbpf.cjs → dist/bundle) with the kernel layer made unavailable. */
function xbpfWithoutKernel(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", preload, join(root, "packages/cli/bin/xbpf.cjs"), ...args], { encoding: "utf8", cwd: root });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The CLI's unbundled modules (packages/cli/dist/main.js) with the kernel layer made unavailable. */
function mainWithoutKernel(...args: string[]) {
  const main = pathToFileURL(join(root, "packages/cli/dist/main.js")).href;
  return nodeWithoutKernel(`process.exitCode = await (await import(${JSON.stringify(main)})).main(${JSON.stringify(args)});`);
}

function nodeWithoutKernel(code: string) {
  const r = spawnSync(process.execPath, ["--import", preload, "--input-type=module", "-e", code], { encoding: "utf8", cwd: root });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("open, inspect and patch without the kernel layer", () => {
  it("xbpf inspect --json", () => {
    const r = xbpfWithoutKernel("inspect", example, "--json");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).variables.map((v: { name: string }) => v.name)).toContain("cfg");
  });

  it("xbpf patch, and the patched bytes hold the new value", () => {
    const out = join(dir, "patched.bpf.o");
    const r = xbpfWithoutKernel("patch", example, "--set", "cfg.blocked_port=8080", "-o", out);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(openObject(new Uint8Array(readFileSync(out))).get("cfg.blocked_port")).toBe(8080);
  });

  it("@x/loader/open (built): open, set, describe and write an object", () => {
    const r = nodeWithoutKernel(`
      const { openObject, describeObject } = await import(${JSON.stringify(pathToFileURL(join(root, "packages/loader/dist/open.js")).href)});
      const spec = openObject(${JSON.stringify(example)});
      spec.set("cfg.max_len", 9000);
      console.log(describeObject(spec).variables.length, spec.toElf().byteLength > 0, spec.get("cfg.max_len"));
    `);
    expect(r.err).toBe("");
    expect(r.out.trim()).toBe("6 true 9000");
  });

  it("the unbundled modules: inspect and patch import nothing of @x/sys", () => {
    const r = mainWithoutKernel("inspect", example, "--json");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).variables.map((v: { name: string }) => v.name)).toContain("cfg");
    const p = mainWithoutKernel("patch", example, "--set", "cfg.blocked_port=8080", "-o", join(dir, "patched-unbundled.bpf.o"));
    expect(p.err).toBe("");
    expect(p.code).toBe(0);
  });

  it("the guard is real: xbpf load fails on koffi (bundle), on the @x/sys import (modules), and says why", () => {
    const bundled = xbpfWithoutKernel("load", example);
    expect(bundled.code).toBe(1);
    expect(bundled.err).toMatch(/koffi is not available in this process/);
    const modules = mainWithoutKernel("load", example);
    expect(modules.code).toBe(1);
    expect(modules.err).toMatch(/kernel layer \(@x\/sys\) was imported/);
  });
});
