import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

const pkg = (p: string) => fileURLToPath(new URL(`./packages/${p}`, import.meta.url));

// Tests run against package sources, so no build is needed to test a package.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@x\/([a-z]+)$/, replacement: pkg("$1/src/index.ts") },
      { find: /^@x\/([a-z]+)\/(.+)$/, replacement: pkg("$1/src/$2.ts") },
    ],
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "tools/**/*.test.ts", "test-vm/test/**/*.test.ts"],
    testTimeout: 60_000,
    pool: "forks",
  },
});
