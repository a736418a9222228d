import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test, vi } from "vitest";
import { repo } from "./helpers.js";

test("the README example runs and prints what it says", async () => {
  const readme = readFileSync(`${repo}packages/btf/README.md`, "utf8");
  const code = /```ts\n([\s\S]*?)```/.exec(readme)![1]!;
  const dir = mkdtempSync(join(tmpdir(), "btf-readme-"));
  const logs: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => { logs.push(a.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(" ")); });
  const cwd = process.cwd();
  try {
    process.chdir(repo);
    writeFileSync(join(dir, "example.ts"), code);
    await import(/* @vite-ignore */ join(dir, "example.ts"));
  } finally {
    process.chdir(cwd);
    spy.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
  expect(logs).toContain('const volatile struct limits cfg_limits = {"kind":2,"rate":1000,"burst":64,"window":"1000000n"}');
  expect(logs).toContain('const volatile char[16] cfg_name = "globals"');
  expect(logs).toContain("BTF_VALUE_RANGE cfg_limits.rate: 4294967296 is out of range for u32 (0..4294967295)");
  expect(logs).toContain('[".text","tc","socket"]');
});
