// The checked-in libbpf section table (src/section-defs.generated.ts) is exactly what
// tools/gen-section-defs.mjs writes from libbpf.c of Debian's linux-source-6.12 package.
// Needs /usr/src/linux-source-6.12.tar.xz (`apt-get install linux-source-6.12`, done by
// tools/setup.sh): skipped with a warning without it, except in CI, where it fails instead.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const TARBALL = "/usr/src/linux-source-6.12.tar.xz";
const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const GENERATOR = join(ROOT, "tools/gen-section-defs.mjs");
const CHECKED_IN = join(ROOT, "packages/loader/src/section-defs.generated.ts");

const haveSource = existsSync(TARBALL);
if (!haveSource && !process.env.CI) console.warn(`[@x/loader] skipping the section table regeneration check: no ${TARBALL} (apt-get install linux-source-6.12)`);

describe.skipIf(!haveSource && !process.env.CI)(`section-defs.generated.ts is up to date with libbpf.c (${TARBALL})`, () => {
  it("regenerating gives no diff", () => {
    expect(existsSync(TARBALL), `${TARBALL} is missing: apt-get install linux-source-6.12`).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), "x-section-defs-"));
    try {
      const out = join(dir, "section-defs.generated.ts");
      execFileSync(process.execPath, [GENERATOR, "--tarball", TARBALL, "--out", out], { cwd: ROOT, stdio: "pipe" });
      const fresh = readFileSync(out, "utf8");
      const current = readFileSync(CHECKED_IN, "utf8");
      // Compared line by line so a failure shows where; regenerate with `pnpm gen:sections`.
      expect(current.split("\n"), "packages/loader/src/section-defs.generated.ts is stale: run pnpm gen:sections").toEqual(fresh.split("\n"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
