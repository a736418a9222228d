// Bundles the built CLI (dist/main.js and the workspace packages it imports) into dist/bundle/, one
// chunk per command plus shared chunks, as CommonJS, for the `xbpf` executable (bin/xbpf.cjs). A cold
// start then reads and compiles a handful of files instead of resolving ~85 ES modules, most of what
// the CLI cost before it did any work; CommonJS also spares it the ES module loader and the facades
// that importing Node's built-ins through it builds (node:fs's alone pulls in node:stream). koffi
// (native code) stays external, so commands that never reach the kernel layer never load it.
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
  output: { dir: outDir, format: "cjs", entryFileNames: "[name].cjs", chunkFileNames: "[name]-[hash].cjs" },
});
