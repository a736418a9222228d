#!/usr/bin/env node
// The `xbpf` executable. Committed (not built) so that pnpm links it at install time, before the
// first build; it runs the built CLI's bundle (dist/bundle: a few files to load instead of ~85
// modules, see scripts/bundle.mjs) and says so plainly when there is none yet.
let cli;
try {
  cli = await import("../dist/bundle/main.js");
} catch (e) {
  const missing = e?.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes("/dist/");
  process.stderr.write(
    missing
      ? "xbpf: @x/cli is not built yet (packages/cli/dist is missing): run `npm run setup` or `pnpm build` first\n"
      : `xbpf: cannot start: ${e?.message ?? e}\n`,
  );
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2));
