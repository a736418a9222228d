// Bundles the built CLI (dist/main.js and the workspace packages it imports) into dist/bundle/, one
// chunk per command plus shared chunks, for the `xbpf` executable. A cold start resolves, reads and
// compiles a handful of files instead of ~85 ES modules: module resolution is most of what the CLI
// costs before it does any work. koffi (native code) stays external, so commands that never reach
// the kernel layer never load it.
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "rolldown";

const pkg = fileURLToPath(new URL("..", import.meta.url));
const outDir = `${pkg}dist/bundle`;
rmSync(outDir, { recursive: true, force: true });
await build({
  input: { main: `${pkg}dist/main.js` },
  platform: "node",
  external: ["koffi"],
  logLevel: "warn",
  output: { dir: outDir, format: "esm", entryFileNames: "[name].js", chunkFileNames: "[name]-[hash].js" },
});
