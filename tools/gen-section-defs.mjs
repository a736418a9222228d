// Generates packages/loader/src/section-defs.generated.ts from libbpf's own `section_defs[]`
// (tools/lib/bpf/libbpf.c), read from Debian's linux-source-6.12 package
// (/usr/src/linux-source-6.12.tar.xz; `apt-get install linux-source-6.12`).
//
// Usage: node tools/gen-section-defs.mjs [--tarball PATH] [--out PATH | --stdout]
//        (`pnpm gen:sections` runs it with the defaults)
//
// The output depends only on the tarball's content (no dates, no host names): running it twice
// gives the same bytes, and packages/loader/test/section-defs.generated.test.ts checks that the
// checked-in module is what this script writes. Every assumption about libbpf.c (the SEC_DEF
// macro, `struct bpf_sec_def`, `enum sec_def_flags`, sec_def_matches) is checked, and anything
// unexpected (a new flag, an unknown program or attach type, preprocessor lines inside the table)
// stops the script with an error rather than producing a wrong table.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEFAULT_TARBALL = "/usr/src/linux-source-6.12.tar.xz";
const DEFAULT_OUT = join(ROOT, "packages/loader/src/section-defs.generated.ts");
const CONSTS = join(ROOT, "packages/sys/src/abi/consts.ts");
const COMMAND = "node tools/gen-section-defs.mjs";

/** libbpf's `enum sec_def_flags` as this generator understands it; the file must agree. */
const KNOWN_FLAGS = {
  SEC_NONE: 0,
  SEC_EXP_ATTACH_OPT: 1,
  SEC_ATTACHABLE: 2,
  SEC_ATTACHABLE_OPT: 3,
  SEC_ATTACH_BTF: 4,
  SEC_SLEEPABLE: 8,
  SEC_XDP_FRAGS: 16,
  SEC_USDT: 32,
};

function fail(msg) {
  console.error(`gen-section-defs: ${msg}`);
  process.exit(1);
}

function parseArgs(argv) {
  const o = { tarball: DEFAULT_TARBALL, out: DEFAULT_OUT, stdout: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--tarball") o.tarball = argv[++i];
    else if (a === "--out") o.out = argv[++i];
    else if (a === "--stdout") o.stdout = true;
    else if (a === "-h" || a === "--help") {
      console.log("usage: node tools/gen-section-defs.mjs [--tarball PATH] [--out PATH | --stdout]");
      process.exit(0);
    } else fail(`unknown argument ${a}`);
    if (o.tarball === undefined || o.out === undefined) fail(`${a} needs a value`);
  }
  return o;
}

/** The top directory of the tarball (`linux-source-6.12/`), from its first member. */
function topDir(tarball) {
  let first;
  try {
    // `tar -t | head -1` without a shell: read until the first newline.
    first = execFileSync("sh", ["-c", 'tar -tJf "$1" 2>/dev/null | head -n 1', "sh", tarball], { encoding: "utf8" }).trim();
  } catch (e) {
    fail(`cannot list ${tarball}: ${e.message}`);
  }
  const top = first.split("/")[0];
  if (!top) fail(`${tarball}: empty archive`);
  return top;
}

/** Extract the members we need in one pass over the archive. */
function extract(tarball) {
  const top = topDir(tarball);
  const members = { libbpf: `${top}/tools/lib/bpf/libbpf.c`, version: `${top}/tools/lib/bpf/libbpf_version.h` };
  const dir = mkdtempSync(join(tmpdir(), "gen-section-defs-"));
  try {
    execFileSync("tar", ["-xJf", tarball, "-C", dir, ...Object.values(members)], { stdio: ["ignore", "ignore", "pipe"] });
    const read = (m) => readFileSync(join(dir, m), "utf8");
    return { top, libbpfMember: members.libbpf, libbpf: read(members.libbpf), versionH: read(members.version) };
  } catch (e) {
    fail(`cannot extract ${Object.values(members).join(", ")} from ${tarball}: ${e.stderr?.toString().trim() || e.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** C source with comments replaced by spaces (string and char literals kept intact). */
function stripComments(src) {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const n = src[i + 1];
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === "\\" ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
    } else if (c === "/" && n === "*") {
      const end = src.indexOf("*/", i + 2);
      if (end < 0) fail("unterminated comment");
      out += src.slice(i, end + 2).replace(/[^\n]/g, " ");
      i = end + 2;
    } else if (c === "/" && n === "/") {
      const end = src.indexOf("\n", i);
      i = end < 0 ? src.length : end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The text between the braces of the block that starts at `header`, and the line the header is on. */
function block(src, header, what) {
  const at = src.indexOf(header);
  if (at < 0) fail(`libbpf.c has no ${what} (looked for "${header}")`);
  const open = src.indexOf("{", at);
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if (src[i] === "{") depth++;
    else if (src[i] === "}" && --depth === 0) return { body: src.slice(open + 1, i), line: src.slice(0, at).split("\n").length };
  }
  return fail(`unterminated ${what}`);
}

/** Split a macro argument list on its top-level commas. */
function splitArgs(s) {
  const args = [];
  let depth = 0;
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"') {
      let j = i + 1;
      while (s[j] !== '"') j += s[j] === "\\" ? 2 : 1;
      cur += s.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === "(") depth++;
    if (c === ")") depth--;
    if (c === "," && depth === 0) {
      args.push(cur.trim());
      cur = "";
    } else cur += c;
  }
  if (cur.trim()) args.push(cur.trim());
  return args;
}

/** `enum sec_def_flags`: name → value, with `A | B` expressions resolved. */
function parseFlags(src) {
  const { body } = block(src, "enum sec_def_flags {", "enum sec_def_flags");
  const flags = {};
  for (const item of body.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\w+)\s*=\s*(.+)$/s.exec(item);
    if (!m) fail(`enum sec_def_flags: cannot read "${item}"`);
    const value = m[2].split("|").reduce((acc, term) => {
      const t = term.trim();
      if (/^\d+$/.test(t)) return acc | Number(t);
      if (t in flags) return acc | flags[t];
      return fail(`enum sec_def_flags: ${m[1]} = ${m[2]}: unknown term ${t}`);
    }, 0);
    flags[m[1]] = value;
  }
  const want = JSON.stringify(KNOWN_FLAGS);
  if (JSON.stringify(flags) !== want) fail(`enum sec_def_flags changed: ${JSON.stringify(flags)} (this generator knows ${want}); update KNOWN_FLAGS and the loader`);
  return flags;
}

/** Check the SEC_DEF macro and struct bpf_sec_def: where its arguments go. */
function checkMacro(src) {
  const m = /#define SEC_DEF\(sec_pfx, ptype, atype, flags, \.\.\.\)\s*\{([^}]*)\}/.exec(src);
  if (!m) fail("the SEC_DEF(sec_pfx, ptype, atype, flags, ...) macro is not where it was");
  const body = m[1].replace(/\\\n/g, " ").replace(/\s+/g, " ").trim();
  const want = ".sec = (char *)sec_pfx, .prog_type = BPF_PROG_TYPE_##ptype, .expected_attach_type = atype, .cookie = (long)(flags), .prog_prepare_load_fn = libbpf_prepare_prog_load, __VA_ARGS__";
  if (body !== want) fail(`the SEC_DEF macro changed:\n  ${body}\nexpected\n  ${want}`);
  // __VA_ARGS__ follows .prog_prepare_load_fn: a positional initializer sets the next member.
  const members = block(src, "struct bpf_sec_def {", "struct bpf_sec_def").body.split(";").map((s) => s.trim().split(/\s+/).pop()).filter(Boolean);
  const next = members[members.indexOf("prog_prepare_load_fn") + 1];
  if (next !== "prog_attach_fn") fail(`struct bpf_sec_def: the member after prog_prepare_load_fn is ${next}, not prog_attach_fn`);
  const matches = block(src, "static bool sec_def_matches(const struct bpf_sec_def *sec_def, const char *sec_name)", "sec_def_matches").body;
  for (const needle of ["sec_def->sec[len - 1] == '/'", "str_has_pfx(sec_name, sec_def->sec)", "sec_def->sec[len - 1] == '+'", "sec_name[len] == '\\0' || sec_name[len] == '/'", "strcmp(sec_name, sec_def->sec) == 0"]) {
    if (!matches.includes(needle)) fail(`sec_def_matches changed (no "${needle}"): check the matching rules in packages/loader/src/section-defs.ts`);
  }
  const find = block(src, "static const struct bpf_sec_def *find_sec_def(const char *sec_name)\n{", "find_sec_def").body;
  if (!/for \(i = 0; i < n; i\+\+\) \{\s*sec_def = &section_defs\[i\];\s*if \(sec_def_matches\(sec_def, sec_name\)\)\s*return sec_def;/.test(find)) {
    fail("find_sec_def no longer returns the first match in table order");
  }
}

/** Keys of `export const NAME = { KEY: n, ... }` in consts.ts. */
function constKeys(consts, name) {
  const m = new RegExp(`export const ${name} = \\{([^}]*)\\}`).exec(consts);
  if (!m) fail(`${relative(ROOT, CONSTS)} has no ${name}`);
  return new Set([...m[1].matchAll(/^\s*(\w+):/gm)].map((x) => x[1]));
}

function parseDefs(src, flagValues) {
  const { body, line } = block(src, "static const struct bpf_sec_def section_defs[] = {", "section_defs[] table");
  if (/^\s*#/m.test(body)) fail("section_defs[] contains preprocessor lines; this generator reads it as a plain table");
  const defs = [];
  let rest = body;
  for (;;) {
    const at = rest.indexOf("SEC_DEF(");
    if (at < 0) {
      if (rest.replace(/[\s,]/g, "")) fail(`section_defs[]: unexpected text "${rest.trim().slice(0, 60)}"`);
      break;
    }
    if (rest.slice(0, at).replace(/[\s,]/g, "")) fail(`section_defs[]: unexpected text "${rest.slice(0, at).trim().slice(0, 60)}"`);
    let depth = 0;
    let end = at + "SEC_DEF".length;
    for (; end < rest.length; end++) {
      if (rest[end] === "(") depth++;
      else if (rest[end] === ")" && --depth === 0) break;
    }
    const text = rest.slice(at, end + 1);
    const args = splitArgs(rest.slice(at + "SEC_DEF(".length, end));
    rest = rest.slice(end + 1);
    const where = `section_defs[${defs.length}] ${text.replace(/\s+/g, " ")}`;
    if (args.length < 4 || args.length > 5) fail(`${where}: expected 4 or 5 arguments`);
    const [secLit, ptype, atype, flagExpr, handler] = args;
    const sec = /^"([^"\\]+)"$/.exec(secLit)?.[1];
    if (!sec) fail(`${where}: the section is not a plain string literal`);
    if (!/^[A-Z0-9_]+$/.test(ptype)) fail(`${where}: program type ${ptype}`);
    let attach;
    if (atype !== "0") {
      const m = /^BPF_([A-Z0-9_]+)$/.exec(atype);
      if (!m) fail(`${where}: attach type ${atype}`);
      attach = m[1];
    }
    const flags = flagExpr.split("|").map((f) => f.trim());
    for (const f of flags) if (!(f in flagValues)) fail(`${where}: unknown flag ${f}`);
    if (handler !== undefined && !/^attach_\w+$/.test(handler)) fail(`${where}: attach handler ${handler}`);
    defs.push({ sec, progType: ptype, attachType: attach, flags, handler });
  }
  if (!defs.length) fail("section_defs[] is empty");
  const dup = defs.map((d) => d.sec).find((s, i, a) => a.indexOf(s) !== i);
  if (dup) fail(`section_defs[] defines ${dup} twice`);
  return { defs, line };
}

function render({ defs, line, libbpfVersion, sha256, member, tarball }) {
  const q = (s) => JSON.stringify(s);
  const handlers = [...new Set(defs.map((d) => d.handler).filter(Boolean))].sort();
  const flagName = (f) => `SecFlag.${f.replace(/^SEC_/, "")}`;
  const out = [];
  out.push(
    "// Generated file: do not edit. Regenerate with `" + COMMAND + "` (`pnpm gen:sections`).",
    `// Source: section_defs[] (line ${line}) of ${member}`,
    `// in ${tarball} (Debian's linux-source-6.12, libbpf ${libbpfVersion}),`,
    `// libbpf.c sha256 ${sha256}.`,
    "// packages/loader/test/section-defs.generated.test.ts fails when this file differs from the generator's output.",
    "/**",
    " * libbpf's table of ELF section name conventions (`section_defs[]` in libbpf.c), entry for entry",
    " * and in libbpf's order: libbpf takes the first entry that matches, and so must we.",
    " * Interpreted by `section-defs.ts`.",
    " *",
    " * @packageDocumentation",
    " */",
    'import { AttachType, ProgType, type AttachTypeValue, type ProgTypeValue } from "@x/sys/abi";',
    "",
    "/** libbpf's `enum sec_def_flags` (each definition's cookie), without the `SEC_` prefix. */",
    "export const SecFlag = {",
    "  /** No flag. */",
    "  NONE: 0,",
    "  /** expected_attach_type is dropped on kernels that do not support it (libbpf: FEAT_EXP_ATTACH_TYPE). */",
    "  EXP_ATTACH_OPT: 1,",
    "  /** Legacy marker of BPF_PROG_ATTACH-attachable types; libbpf itself does not use it. */",
    "  ATTACHABLE: 2,",
    "  /** ATTACHABLE | EXP_ATTACH_OPT. */",
    "  ATTACHABLE_OPT: 3,",
    "  /** The attach target is a BTF id, named after the first `/` of the section name. */",
    "  ATTACH_BTF: 4,",
    "  /** Loaded with BPF_F_SLEEPABLE. */",
    "  SLEEPABLE: 8,",
    "  /** XDP program loaded with BPF_F_XDP_HAS_FRAGS. */",
    "  XDP_FRAGS: 16,",
    "  /** USDT: libbpf loads it with expected attach type TRACE_UPROBE_MULTI when the kernel has uprobe_multi links. */",
    "  USDT: 32,",
    "} as const;",
    "",
    "/** The attach function libbpf names for a definition (`prog_attach_fn`), for auto-attach. */",
    `export type LibbpfAttachHandler =\n${handlers.map((h) => `  | ${q(h)}`).join("\n")};`,
    "",
    "/** One entry of libbpf's `section_defs[]`. */",
    "export interface LibbpfSectionDef {",
    "  /** The section as libbpf writes it: a trailing `+` or `/` is the match marker (see `section-defs.ts`). */",
    "  readonly sec: string;",
    "  /** `enum bpf_prog_type`. */",
    "  readonly progType: ProgTypeValue;",
    "  /** `enum bpf_attach_type`, when libbpf sets one (libbpf writes 0 for none). */",
    "  readonly attachType?: AttachTypeValue;",
    "  /** {@link SecFlag} bits. */",
    "  readonly flags: number;",
    "  /** libbpf's attach function, when it can attach these programs by itself. */",
    "  readonly attach?: LibbpfAttachHandler;",
    "}",
    "",
    `/** libbpf's \`section_defs[]\`: ${defs.length} definitions, in libbpf's order. */`,
    "export const LIBBPF_SECTION_DEFS: readonly LibbpfSectionDef[] = [",
  );
  for (const d of defs) {
    const parts = [`sec: ${q(d.sec)}`, `progType: ProgType.${d.progType}`];
    if (d.attachType) parts.push(`attachType: AttachType.${d.attachType}`);
    parts.push(`flags: ${d.flags.map(flagName).join(" | ")}`);
    if (d.handler) parts.push(`attach: ${q(d.handler)}`);
    out.push(`  { ${parts.join(", ")} },`);
  }
  out.push("];", "");
  return out.join("\n");
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const src = extract(opts.tarball);
  const libbpf = stripComments(src.libbpf);
  const flagValues = parseFlags(libbpf);
  checkMacro(libbpf);
  const { defs, line } = parseDefs(libbpf, flagValues);

  // Every program and attach type must be one of @x/sys/abi's constants.
  const consts = readFileSync(CONSTS, "utf8");
  const progTypes = constKeys(consts, "ProgType");
  const attachTypes = constKeys(consts, "AttachType");
  const missing = [
    ...new Set([
      ...defs.filter((d) => !progTypes.has(d.progType)).map((d) => `BPF_PROG_TYPE_${d.progType} (${d.sec})`),
      ...defs.filter((d) => d.attachType && !attachTypes.has(d.attachType)).map((d) => `BPF_${d.attachType} (${d.sec})`),
    ]),
  ];
  if (missing.length) {
    fail(`libbpf uses constants that ${relative(ROOT, CONSTS)} lacks: ${missing.join(", ")}.\nAdd them there if /usr/include/linux/bpf.h has them (packages/sys/test/abi-headers.test.ts checks them).`);
  }

  const major = /#define LIBBPF_MAJOR_VERSION (\d+)/.exec(src.versionH)?.[1];
  const minor = /#define LIBBPF_MINOR_VERSION (\d+)/.exec(src.versionH)?.[1];
  if (!major || !minor) fail("cannot read the libbpf version from the tarball");
  const text = render({
    defs,
    line,
    libbpfVersion: `${major}.${minor}`,
    sha256: createHash("sha256").update(src.libbpf).digest("hex"),
    member: src.libbpfMember,
    tarball: opts.tarball,
  });
  if (opts.stdout) process.stdout.write(text);
  else {
    writeFileSync(opts.out, text);
    console.error(`gen-section-defs: ${defs.length} definitions from ${src.libbpfMember} (libbpf ${major}.${minor}) → ${relative(process.cwd(), opts.out) || opts.out}`);
  }
}

main();
