// The Debian mirror this machine already uses, read from its own apt configuration
// (deb822 /etc/apt/sources.list.d/*.sources and one-line /etc/apt/sources.list).
// The runner never names a registry host itself: it takes the URI found here.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** Entries `{ uri, suites, components }` of a deb822 `.sources` file (type `deb`, enabled). */
export function parseDeb822(text) {
  const out = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = {};
    let last;
    for (const line of stanza.split("\n")) {
      if (/^\s*#/.test(line) || !line.trim()) continue;
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m) fields[(last = m[1].toLowerCase())] = m[2].trim();
      else if (last && /^\s/.test(line)) fields[last] += " " + line.trim();
    }
    if (!fields.uris || !fields.suites) continue;
    if (!(fields.types ?? "deb").split(/\s+/).includes("deb")) continue;
    if (/^(no|false)$/i.test(fields.enabled ?? "")) continue;
    const suites = fields.suites.split(/\s+/);
    const components = (fields.components ?? "").split(/\s+/).filter(Boolean);
    for (const uri of fields.uris.split(/\s+/)) out.push({ uri, suites, components });
  }
  return out;
}

/** Entries of a one-line-style `sources.list` (`deb [options] URI SUITE COMPONENTS…`). */
export function parseOneLine(text) {
  const out = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (m) out.push({ uri: m[1], suites: [m[2]], components: m[3].split(/\s+/).filter(Boolean) });
  }
  return out;
}

const DEBIAN_SUITE = /^(buster|bullseye|bookworm|trixie|forky|duke|sid|oldoldstable|oldstable|stable|testing|unstable)(-updates|-backports)?$/;

/**
 * The URI of the Debian archive proper: the first entry that serves `main` for a Debian suite
 * (not the security archive, which has no backports or old suites, and not a third-party repository).
 */
export function pickMirror(entries) {
  const main = entries.filter((e) => /^(https?|file|ftp):/.test(e.uri) && (e.components.length === 0 || e.components.includes("main")));
  const e = main.find((x) => x.suites.some((s) => DEBIAN_SUITE.test(s))) ?? main.find((x) => !x.suites.some((s) => /security/.test(s)));
  return e ? e.uri.replace(/\/+$/, "") : undefined;
}

/** Reads the machine's apt sources under `etc` (default `/etc/apt`) and returns the mirror URI. */
export function findMirror(etc = "/etc/apt") {
  const entries = [];
  const dir = join(etc, "sources.list.d");
  let names = [];
  try {
    names = readdirSync(dir).sort();
  } catch {}
  for (const n of names) {
    const text = readFileSync(join(dir, n), "utf8");
    if (n.endsWith(".sources")) entries.push(...parseDeb822(text));
    else if (n.endsWith(".list")) entries.push(...parseOneLine(text));
  }
  try {
    entries.push(...parseOneLine(readFileSync(join(etc, "sources.list"), "utf8")));
  } catch {}
  return pickMirror(entries);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const uri = findMirror(process.argv[2]);
  if (!uri) {
    console.error("apt-sources: no Debian archive found in the apt sources of this machine");
    process.exit(1);
  }
  console.log(uri);
}
