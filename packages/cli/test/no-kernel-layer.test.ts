// Opening, inspecting and patching never load the kernel layer: the built CLI runs in a process
// where koffi cannot be resolved and importing @x/sys's main entry throws (no-kernel/preload.mjs).
// `xbpf probe` in the same process fails, which shows the guard works.
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

/** The built CLI (packages/cli/bin/xbpf.js → dist) with the kernel layer made unavailable. */
function xbpfWithoutKernel(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", preload, join(root, "packages/cli/bin/xbpf.js"), ...args], { encoding: "utf8", cwd: root });
  return { code: r.status, out: r.stdout, err: r.stderr };
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

  it("the guard is real: xbpf probe cannot start, and says why", () => {
    const r = xbpfWithoutKernel("probe");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/kernel layer \(@x\/sys\) was imported/);
  });
});
