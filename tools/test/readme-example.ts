/**
 * Run the first fenced example of a package README as a module (vitest transforms it, so `@x/*`
 * imports resolve to the sources and `using` works on Node 20) and return what it logged: the
 * arguments of each `console.log` call. Shared by the packages' `readme` tests.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vi } from "vitest";

export async function runReadmeExample(readme: string, options: { fence: "js" | "ts"; cwd?: string }): Promise<unknown[][]> {
  const text = readFileSync(readme, "utf8");
  const code = new RegExp(`\`\`\`${options.fence}\\n([\\s\\S]*?)\`\`\``).exec(text)?.[1];
  if (code === undefined) throw new Error(`${readme}: no \`\`\`${options.fence} example`);
  const dir = mkdtempSync(join(tmpdir(), "x-readme-"));
  const logs: unknown[][] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void logs.push(args));
  const cwd = process.cwd();
  try {
    if (options.cwd) process.chdir(options.cwd);
    writeFileSync(join(dir, "example.ts"), code);
    await import(/* @vite-ignore */ join(dir, "example.ts"));
  } finally {
    process.chdir(cwd);
    spy.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
  return logs;
}
