// Turns `modprobe --show-depends` output into the ordered list of module files to insmod.
// Usage: modprobe --show-depends … | node modules.mjs   → one path per line.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

/**
 * Module files in load order, each once. `builtin NAME` lines (compiled into the kernel) are skipped;
 * `insmod PATH [params]` lines give the file. Dependencies come before the module that needs them in
 * modprobe's output, and the first occurrence wins, so the order stays valid.
 */
export function parseShowDepends(text) {
  const seen = new Set();
  const out = [];
  for (const line of text.split("\n")) {
    const m = /^insmod\s+(\S+)/.exec(line.trim());
    if (!m || seen.has(m[1])) continue;
    seen.add(m[1]);
    out.push(m[1]);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const p of parseShowDepends(readFileSync(0, "utf8"))) console.log(p);
}
