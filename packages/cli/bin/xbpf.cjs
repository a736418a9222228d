#!/usr/bin/env node
// The `xbpf` executable. Committed (not built) so that pnpm links it at install time, before the
// first build; it runs the built CLI's bundle (dist/bundle: a few CommonJS files to load instead of
// ~85 ES modules, see scripts/bundle.mjs) and says so plainly when there is none yet. CommonJS on
// purpose: no ES module loader to start, and Node's built-in modules come without ESM facades.
"use strict";
let cli;
try {
  cli = require("../dist/bundle/main.cjs");
} catch (e) {
  const missing = e?.code === "MODULE_NOT_FOUND" && String(e.message).includes("dist/bundle/main.cjs");
  process.stderr.write(
    missing
      ? "xbpf: @x/cli is not built yet (packages/cli/dist/bundle is missing): run `npm run setup` or `pnpm build` first\n"
      : `xbpf: cannot start: ${e?.message ?? e}\n`,
  );
  process.exit(1);
}
cli.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
