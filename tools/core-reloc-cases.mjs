// Builds the kernel's CO-RE selftest cases (tools/testing/selftests/bpf/prog_tests/core_reloc.c of
// Debian's linux-source-6.12, /usr/src/linux-source-6.12.tar.xz) as data plus compiled objects, in a
// per-machine cache. Nothing of the kernel's source is copied into the repo: every file is read from
// the tarball at build time. See tools/core-reloc-cases.md for what a case is and how to run one.
//
// Usage: node tools/core-reloc-cases.mjs [--tarball PATH] [--cache DIR] [--rebuild] [--print-dir] [--quiet]
//        bash tools/core-reloc-cases.sh [same]   (installs the missing Debian packages first, as root)
//
// Prints the build folder on stdout with --print-dir (tools/test/core-reloc.ts uses that); a one-line
// summary on stderr otherwise. The folder holds:
//   cases.json     every entry of core_reloc.c's test_cases[], in order (see tools/core-reloc-cases.md)
//   manifest.json  where everything came from: tarball, kernel version, member hashes, tools, flags
//   obj/           test_core_reloc_*.bpf.o and the btf__core_reloc_*.bpf.o the cases name
//   src/           the tarball members used (read-only reference; core_reloc.c among them)
//   harness/       the generated C program that printed the cases, and its test_progs.h stand-in
//
// What it does, cold:
//   1. extracts from the tarball, in one pass: selftests' progs/test_core_reloc_*.c,
//      progs/btf__core_reloc_*.c, progs/*.h, prog_tests/core_reloc.c, bpf_testmod/bpf_testmod.h,
//      libbpf's tools/lib/bpf/*.h, tools/include/uapi, scripts/bpf_doc.py and the top Makefile (version);
//   2. generates bpf/bpf_helper_defs.h (scripts/bpf_doc.py, as libbpf's Makefile does) and vmlinux.h
//      (`bpftool btf dump file /sys/kernel/btf/vmlinux format c`; only test_core_reloc_module.c uses it);
//   3. compiles each BPF file with clang-19 as the selftests Makefile does (BPF_CFLAGS, CLANG_SYS_INCLUDES
//      and the test_progs flavour's -DENABLE_ATOMICS_TESTS; -mcpu=v3), plus -fdebug-prefix-map so no
//      cache path ends up in an object;
//   4. writes a C program that #includes core_reloc.c itself (its macros, core_reloc_types.h, the
//      table) with a stand-in for test_progs.h, compiles it with gcc against Debian's libbpf (the
//      type_id cases' setup functions read the compiled objects' BTF with btf__parse), runs it in obj/,
//      and reads the JSON it prints: each case's fields, input and expected output as bytes;
//   5. adds what the table does not say: each program's section, the struct its output is read as
//      and that struct's layout (member names from clang's record layout dump, offsets and sizes from
//      gcc), the members of the program's `data` global, the helpers it calls, its CO-RE relocation
//      count and the BTF kinds that matter to older kernels.
// Cold, on a 2-core machine: ~15 s idle (up to ~23 s when the machine is busy), of which ~9.5 s is
// decompressing the 150 MB tarball and ~4 s compiling 87 objects two at a time. Warm: ~0.08 s.
//
// Caching: a build is stored under CACHE/builds/KEY, KEY being the sha256 of the extracted members'
// contents, `clang-19 --version`, `gcc --version`, Debian's libbpf version and this script. An index
// (CACHE/index/QUICK.json, QUICK hashing the tarball's path, size and mtime, this script, and the
// resolved clang-19, gcc and libbpf.so files' size and mtime) maps a tarball to its KEY without
// decompressing it, so a warm run only stats files (~0.1 s). CACHE is $XBPF_CORE_RELOC_CACHE, else
// ${XDG_CACHE_HOME:-~/.cache}/xbpf-core-reloc. vmlinux.h is not part of the key: it only feeds the
// module object (whose cases need bpf_testmod and are unsupported here), and any kernel's task_struct
// will do for it; manifest.json records which kernel it came from. Delete the folder to start over.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, homedir, release } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BuildError, clangSysIncludes, fail, listFiles, run, runAll, sha256, stamp, topDir, which, withLock } from "./lib/build.mjs";

const SCRIPT = fileURLToPath(import.meta.url);
const DEFAULT_TARBALL = process.env.XBPF_CORE_RELOC_TARBALL || "/usr/src/linux-source-6.12.tar.xz";
/** Bumped when the layout of cases.json or manifest.json changes (also hashed in, with the script). */
const FORMAT = 1;
const SELFTESTS = "tools/testing/selftests/bpf";
const VMLINUX_BTF = "/sys/kernel/btf/vmlinux";
/** Where the source tree appears in the objects' debug info, instead of the cache path. */
const DEBUG_PREFIX = "/xbpf-core-reloc";

let quiet = false;
function log(msg) {
  if (!quiet) process.stderr.write(`core-reloc-cases: ${msg}\n`);
}

function parseArgs(argv) {
  const o = { tarball: DEFAULT_TARBALL, cache: undefined, rebuild: false, printDir: false, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a === "--tarball") o.tarball = value();
    else if (a === "--cache") o.cache = value();
    else if (a === "--rebuild") o.rebuild = true;
    else if (a === "--print-dir") o.printDir = true;
    else if (a === "--quiet") o.quiet = true;
    else if (a === "-h" || a === "--help") {
      console.log("usage: node tools/core-reloc-cases.mjs [--tarball PATH] [--cache DIR] [--rebuild] [--print-dir] [--quiet]");
      process.exit(0);
    } else fail(`unknown argument ${a}`);
  }
  return o;
}

export function defaultCacheDir() {
  if (process.env.XBPF_CORE_RELOC_CACHE) return process.env.XBPF_CORE_RELOC_CACHE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "xbpf-core-reloc");
}

const LIBBPF_SO = "/usr/lib/x86_64-linux-gnu/libbpf.so";
const LIBBPF_VERSION_H = "/usr/include/bpf/libbpf_version.h";

/** What this build needs on the machine; each entry: what is missing and the Debian package that has it. */
export function missingPrerequisites(tarball = DEFAULT_TARBALL) {
  const missing = [];
  if (!existsSync(tarball)) missing.push(`${tarball} (apt-get install linux-source-6.12)`);
  for (const [cmd, pkg] of [["clang-19", "clang-19"], ["gcc", "gcc"], ["bpftool", "bpftool"], ["python3", "python3"], ["xz", "xz-utils"], ["tar", "tar"]]) {
    if (!which(cmd)) missing.push(`${cmd} (apt-get install ${pkg})`);
  }
  if (!existsSync("/usr/include/bpf/btf.h") || !existsSync(LIBBPF_SO)) missing.push("libbpf's headers and libbpf.so (apt-get install libbpf-dev)");
  if (!existsSync(VMLINUX_BTF)) missing.push(`${VMLINUX_BTF} (a kernel with CONFIG_DEBUG_INFO_BTF, for vmlinux.h)`);
  return missing;
}

function quickKey(tarball) {
  return sha256(
    JSON.stringify({
      format: FORMAT,
      tarball: stamp(tarball),
      script: sha256(readFileSync(SCRIPT)),
      lib: sha256(readFileSync(new URL("./lib/build.mjs", import.meta.url))),
      clang: stamp(which("clang-19")),
      gcc: stamp(which("gcc")),
      libbpf: stamp(LIBBPF_SO),
    }),
  );
}

/** The build folder for this tarball and these tools if it is in the cache, without decompressing anything. */
export function findBuild({ tarball = DEFAULT_TARBALL, cache = defaultCacheDir() } = {}) {
  if (!existsSync(tarball)) return undefined;
  const indexFile = join(cache, "index", `${quickKey(tarball)}.json`);
  if (!existsSync(indexFile)) return undefined;
  try {
    const { contentKey } = JSON.parse(readFileSync(indexFile, "utf8"));
    const dir = join(cache, "builds", contentKey);
    return existsSync(join(dir, "manifest.json")) && existsSync(join(dir, "cases.json")) ? dir : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// Extraction

/** Extracts the members the build needs into `dest` (as TOP/...); returns TOP. */
function extract(tarball, dest) {
  const top = topDir(tarball);
  const st = `${top}/${SELFTESTS}`;
  const patterns = [
    `${st}/progs/test_core_reloc_*.c`,
    `${st}/progs/btf__core_reloc_*.c`,
    `${st}/progs/*.h`,
    `${st}/prog_tests/core_reloc.c`,
    `${st}/bpf_testmod/bpf_testmod.h`,
    `${top}/tools/lib/bpf/*.h`,
    `${top}/tools/include/uapi`,
    `${top}/scripts/bpf_doc.py`,
    `${top}/Makefile`,
  ];
  run("tar", ["-xJf", tarball, "-C", dest, "--wildcards", "--no-wildcards-match-slash", ...patterns]);
  for (const must of [`${st}/prog_tests/core_reloc.c`, `${st}/progs/core_reloc_types.h`, `${top}/tools/lib/bpf/bpf_helpers.h`, `${top}/tools/include/uapi/linux/bpf.h`]) {
    if (!existsSync(join(dest, must))) fail(`${tarball} has no ${must}`);
  }
  return top;
}

function stripComments(src) {
  return src.replace(/("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (m, lit) => lit ?? m.replace(/[^\n]/g, " "));
}

/** What a program file says about itself: its programs' sections, the output struct, the `data` members. */
function readProgramSource(file, text) {
  const src = stripComments(text);
  const programs = {};
  for (const m of src.matchAll(/SEC\("([^"]+)"\)\s*int\s+(?:BPF_PROG\(\s*)?(\w+)/g)) programs[m[2]] = m[1];
  const out = [...new Set([...src.matchAll(/struct\s+(\w+)\s*\*\s*out\s*=\s*\(void\s*\*\)\s*&data\.out/g)].map((m) => m[1]))];
  if (out.length !== 1) fail(`${file}: expected one "struct X *out = (void *)&data.out", found ${out.length}`);
  const data = /struct\s*\{([^}]*)\}\s*data\s*=/.exec(src);
  if (!data) fail(`${file}: no "struct { ... } data = ..." global`);
  const dataFields = data[1]
    .split(";")
    .map((d) => d.trim())
    .filter(Boolean)
    .map((d) => /(\w+)\s*(?:\[[^\]]*\])?$/.exec(d)?.[1] ?? fail(`${file}: cannot read data member "${d}"`));
  return { programs, outputType: out[0], dataFields };
}

/** Top-level member names of each struct, from clang's record layout dump. */
function recordMembers(dump, names) {
  const members = {};
  for (const block of dump.split("*** Dumping AST Record Layout")) {
    const lines = block.split("\n").filter((l) => l.includes("|"));
    const head = /^\s*\d+ \| struct (\w+)$/.exec(lines[0] ?? "");
    if (!head || !names.includes(head[1])) continue;
    const list = [];
    for (const l of lines.slice(1)) {
      const m = /^\s*([\d:-]+) \|( +)(.*)$/.exec(l);
      if (m?.[2].length !== 3) continue; // deeper: a member of a member
      if (m[1].includes(":")) fail(`struct ${head[1]}: bitfield member "${m[3]}" (the layout code expects none)`);
      const name = /(\w+)$/.exec(m[3].trim())?.[1];
      if (!name || /\(anonymous|\(unnamed/.test(m[3].split(" ").pop())) fail(`struct ${head[1]}: anonymous member "${m[3]}"`);
      list.push(name);
    }
    members[head[1]] = list;
  }
  for (const n of names) if (!members[n]) fail(`clang's record layout dump has no struct ${n}`);
  return members;
}

/** Names of core_reloc.c's setup and trigger functions (matched against the table's pointers). */
function hookFunctions(coreReloc) {
  const src = stripComments(coreReloc);
  const setups = [...src.matchAll(/static\s+int\s+(\w+)\s*\(\s*struct\s+core_reloc_test_case\s*\*\s*\w+\s*\)/g)].map((m) => m[1]);
  const triggers = [...src.matchAll(/static\s+int\s+(\w+)\s*\(\s*const\s+struct\s+core_reloc_test_case\s*\*\s*\w+\s*\)/g)].map((m) => m[1]);
  return { setups, triggers };
}

// ---------------------------------------------------------------------------------------------------
// The generated C program

const TEST_PROGS_H = `/* Stand-in for the selftests' test_progs.h, generated by tools/core-reloc-cases.mjs: only what
 * prog_tests/core_reloc.c uses. A failed CHECK/ASSERT (in a setup function) is counted and makes
 * the program exit 1. */
#ifndef XBPF_TEST_PROGS_H
#define XBPF_TEST_PROGS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <errno.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/syscall.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include <bpf/btf.h>

typedef __u8 u8;
typedef __s8 s8;
typedef __u16 u16;
typedef __s16 s16;
typedef __u32 u32;
typedef __s32 s32;
typedef __u64 u64;
typedef __s64 s64;

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))
#endif

static struct { bool has_testmod; } env;
static int xbpf_failures;

#define XBPF_FAIL(tag, ...) ({ xbpf_failures++; fprintf(stderr, "%s:%d: FAIL %s: ", __func__, __LINE__, tag); fprintf(stderr, __VA_ARGS__); fputc('\\n', stderr); })
#define CHECK(condition, tag, format...) ({ int __ret = !!(condition); if (__ret) XBPF_FAIL(tag, format); __ret; })
#define CHECK_FAIL(condition) ({ int __ret = !!(condition); if (__ret) XBPF_FAIL(#condition, "true"); __ret; })
#define ASSERT_OK_PTR(ptr, name) ({ const void *___p = (ptr); bool ___ok = ___p && (unsigned long)___p < (unsigned long)-4095; if (!___ok) XBPF_FAIL(name, "pointer %p (errno %d)", ___p, errno); ___ok; })
#define ASSERT_OK(res, name) ({ long long ___r = (res); bool ___ok = ___r == 0; if (!___ok) XBPF_FAIL(name, "%lld", ___r); ___ok; })
#define ASSERT_GE(a, b, name) ({ long long ___a = (a), ___b = (b); bool ___ok = ___a >= ___b; if (!___ok) XBPF_FAIL(name, "%lld < %lld", ___a, ___b); ___ok; })
#define ASSERT_FALSE(a, name) ({ bool ___ok = !(a); if (!___ok) XBPF_FAIL(name, "true"); ___ok; })

static inline bool test__start_subtest(const char *name) { (void)name; return true; }
static inline void test__skip(void) {}
static inline pid_t sys_gettid(void) { return syscall(SYS_gettid); }
/* bpf_testmod's trigger (testing_helpers.c): never called here. */
static inline void trigger_module_test_read(int read_sz) { (void)read_sz; }
#endif
`;

function driverSource(hooks, outputTypes, members) {
  const cmp = (field, names) =>
    names.map((n) => `  if (c->${field} == ${n}) return "${n}";`).join("\n");
  const layouts = outputTypes
    .map((t) => {
      const fields = members[t]
        .map((f, i) => `  printf("%s{\\"name\\":\\"${f}\\",\\"offset\\":%zu,\\"size\\":%zu}", ${i ? '","' : '""'}, offsetof(struct ${t}, ${f}), sizeof(((struct ${t} *)0)->${f}));`)
        .join("\n");
      return `  printf("%s\\"${t}\\":{\\"size\\":%zu,\\"fields\\":[", first ? "" : ",", sizeof(struct ${t}));\n  first = false;\n${fields}\n  printf("]}");`;
    })
    .join("\n");
  return `/* Generated by tools/core-reloc-cases.mjs: prints prog_tests/core_reloc.c's test_cases[] as JSON.
 * Run in the folder of the compiled objects (the type_id setup functions read their BTF). */
#include "prog_tests/core_reloc.c"

static void json_str(const char *s)
{
	if (!s) { printf("null"); return; }
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\\\') printf("\\\\%c", *s);
		else if ((unsigned char)*s < 0x20) printf("\\\\u%04x", (unsigned char)*s);
		else putchar(*s);
	}
	putchar('"');
}

static void json_hex(const char *p, int n)
{
	if (!p) { printf("null"); return; }
	putchar('"');
	for (int i = 0; i < n; i++) printf("%02x", (unsigned char)p[i]);
	putchar('"');
}

static const char *setup_name(const struct core_reloc_test_case *c)
{
	if (!c->setup) return NULL;
${cmp("setup", hooks.setups)}
	return "?";
}

static const char *trigger_name(const struct core_reloc_test_case *c)
{
	if (!c->trigger) return NULL;
${cmp("trigger", hooks.triggers)}
	return "?";
}

int main(int argc, char **argv)
{
	bool list_only = argc > 1 && strcmp(argv[1], "--list") == 0;
	bool first = true;

	printf("{\\"count\\":%zu,\\"cases\\":[", ARRAY_SIZE(test_cases));
	for (size_t i = 0; i < ARRAY_SIZE(test_cases); i++) {
		struct core_reloc_test_case copy = test_cases[i], *c = &copy;

		if (!list_only && c->setup && c->setup(c)) {
			fprintf(stderr, "case %zu (%s): setup failed\\n", i, c->case_name);
			return 1;
		}
		printf("%s\\n{\\"name\\":", i ? "," : "");
		json_str(c->case_name);
		printf(",\\"bpfObjFile\\":"); json_str(c->bpf_obj_file);
		printf(",\\"btfSrcFile\\":"); json_str(c->btf_src_file);
		printf(",\\"progName\\":"); json_str(c->prog_name);
		printf(",\\"rawTpName\\":"); json_str(c->raw_tp_name);
		printf(",\\"inputLen\\":%d,\\"input\\":", c->input_len);
		json_hex(c->input_len ? c->input : "", c->input_len);
		printf(",\\"outputLen\\":%d,\\"output\\":", c->output_len);
		json_hex(c->output, c->output_len);
		printf(",\\"fails\\":%s,\\"runBtfgenFails\\":%s,\\"needsTestmod\\":%s,\\"relaxedCoreRelocs\\":%s",
		       c->fails ? "true" : "false", c->run_btfgen_fails ? "true" : "false",
		       c->needs_testmod ? "true" : "false", c->relaxed_core_relocs ? "true" : "false");
		printf(",\\"setup\\":"); json_str(setup_name(c));
		printf(",\\"trigger\\":"); json_str(trigger_name(c));
		printf("}");
	}
	printf("],\\n\\"layouts\\":{");
${layouts}
	printf("}}\\n");
	(void)first;
	return xbpf_failures ? 1 : 0;
}
`;
}

// ---------------------------------------------------------------------------------------------------
// Reading the compiled objects (just enough ELF and BTF; the test cross-checks with @x/btf)

function elfSections(buf) {
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) fail("not a little-endian ELF64 file");
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  const hdr = (i) => {
    const o = shoff + i * shentsize;
    return { nameOff: buf.readUInt32LE(o), type: buf.readUInt32LE(o + 4), offset: Number(buf.readBigUInt64LE(o + 24)), size: Number(buf.readBigUInt64LE(o + 32)) };
  };
  const strtab = hdr(shstrndx);
  const sections = new Map();
  for (let i = 1; i < shnum; i++) {
    const h = hdr(i);
    const start = strtab.offset + h.nameOff;
    const name = buf.toString("latin1", start, buf.indexOf(0, start));
    sections.set(name, h.type === 8 ? Buffer.alloc(0) : buf.subarray(h.offset, h.offset + h.size));
  }
  return sections;
}

const BTF_KINDS = ["UNKN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF", "VOLATILE", "CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG", "ENUM64"];

/** The BTF kinds present in a .BTF section. */
function btfKinds(btf) {
  if (btf.readUInt16LE(0) !== 0xeb9f) fail("bad .BTF magic");
  const hdrLen = btf.readUInt32LE(4);
  const typeOff = btf.readUInt32LE(8);
  const typeLen = btf.readUInt32LE(12);
  const kinds = new Set();
  let p = hdrLen + typeOff;
  const end = p + typeLen;
  while (p < end) {
    const info = btf.readUInt32LE(p + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const name = BTF_KINDS[kind] ?? fail(`unknown BTF kind ${kind}`);
    kinds.add(name);
    p += 12;
    if (name === "INT" || name === "VAR" || name === "DECL_TAG") p += 4;
    else if (name === "ARRAY") p += 12;
    else if (name === "STRUCT" || name === "UNION" || name === "DATASEC" || name === "ENUM64") p += 12 * vlen;
    else if (name === "ENUM" || name === "FUNC_PROTO") p += 8 * vlen;
  }
  return kinds;
}

/** Number of CO-RE relocation records per ELF section in a .BTF.ext, and their kinds. */
function coreRelos(ext) {
  if (ext.readUInt16LE(0) !== 0xeb9f) fail("bad .BTF.ext magic");
  const hdrLen = ext.readUInt32LE(4);
  if (hdrLen < 32) return { count: 0, kinds: [] };
  const off = ext.readUInt32LE(24);
  const len = ext.readUInt32LE(28);
  let count = 0;
  const kinds = new Set();
  if (len) {
    let p = hdrLen + off;
    const end = p + len;
    const recSize = ext.readUInt32LE(p);
    p += 4;
    while (p < end) {
      const n = ext.readUInt32LE(p + 4);
      p += 8;
      for (let i = 0; i < n; i++) kinds.add(ext.readUInt32LE(p + i * recSize + 12));
      count += n;
      p += n * recSize;
    }
  }
  return { count, kinds: [...kinds].sort((a, b) => a - b) };
}

/** Helper ids called (`call` with src_reg 0) in a program section. */
function helperCalls(code) {
  const ids = new Set();
  for (let p = 0; p + 8 <= code.length; p += 8) {
    if (code[p] === 0x85 && code[p + 1] >> 4 === 0) ids.add(code.readInt32LE(p + 4));
  }
  return [...ids].sort((a, b) => a - b);
}

/** Helper id → name from the generated bpf_helper_defs.h. */
function helperNames(defs) {
  const names = new Map();
  for (const m of defs.matchAll(/\(\* const (bpf_\w+)\)\([^;]*?= \(void \*\) (\d+);/g)) names.set(Number(m[2]), m[1]);
  if (names.size < 100) fail("cannot read the helper ids from bpf_helper_defs.h");
  return names;
}

// ---------------------------------------------------------------------------------------------------
// The build

function kernelVersion(makefile) {
  const v = (k) => new RegExp(`^${k} = ?(.*)$`, "m").exec(makefile)?.[1]?.trim() ?? "";
  return `${v("VERSION")}.${v("PATCHLEVEL")}.${v("SUBLEVEL")}${v("EXTRAVERSION")}`;
}

async function build({ tarball, cache }) {
  const t0 = Date.now();
  const timings = {};
  const mark = (what, since) => (timings[what] = Date.now() - since);
  mkdirSync(join(cache, "tmp"), { recursive: true });
  const work = mkdtempSync(join(cache, "tmp", "build-"));
  try {
    // 1. extract, hash
    let t = Date.now();
    log(`extracting from ${tarball}`);
    const srcDir = join(work, "src");
    mkdirSync(srcDir);
    const top = extract(tarball, srcDir);
    mark("extractMs", t);
    const members = {};
    for (const f of listFiles(srcDir)) members[f] = sha256(readFileSync(join(srcDir, f)));
    const tools = {
      clang: run("clang-19", ["--version"]).split("\n")[0],
      gcc: run("gcc", ["--version"]).split("\n")[0],
      libbpf: (() => {
        const h = readFileSync(LIBBPF_VERSION_H, "utf8");
        return `${/LIBBPF_MAJOR_VERSION (\d+)/.exec(h)?.[1]}.${/LIBBPF_MINOR_VERSION (\d+)/.exec(h)?.[1]}`;
      })(),
    };
    const contentKey = sha256(JSON.stringify({ format: FORMAT, members, tools, script: sha256(readFileSync(SCRIPT)) }));
    const final = join(cache, "builds", contentKey);
    if (existsSync(join(final, "manifest.json")) && existsSync(join(final, "cases.json"))) {
      log(`same sources and tools as ${final}: reusing it`);
      return { dir: final, contentKey, reused: true };
    }

    const tree = join(srcDir, top);
    const selftests = join(tree, SELFTESTS);
    const progs = join(selftests, "progs");
    const coreRelocC = readFileSync(join(selftests, "prog_tests/core_reloc.c"), "utf8");

    // 2. headers: libbpf's, bpf_helper_defs.h, vmlinux.h, and an empty gnu/stubs-32.h
    t = Date.now();
    const inc = join(work, "include");
    mkdirSync(join(inc, "bpf"), { recursive: true });
    for (const f of readdirSync(join(tree, "tools/lib/bpf"))) if (f.endsWith(".h")) cpSync(join(tree, "tools/lib/bpf", f), join(inc, "bpf", f));
    const helperDefs = run("python3", [join(tree, "scripts/bpf_doc.py"), "--header", "--file", join(tree, "tools/include/uapi/linux/bpf.h")], { cwd: tree });
    writeFileSync(join(inc, "bpf/bpf_helper_defs.h"), helperDefs);
    const vmlinuxH = run("bpftool", ["btf", "dump", "file", VMLINUX_BTF, "format", "c"]);
    writeFileSync(join(inc, "vmlinux.h"), vmlinuxH);
    // With --target=bpf, __x86_64__ is undefined and glibc's <gnu/stubs.h> asks for stubs-32.h, which only
    // libc6-dev-i386 installs; it declares nothing these programs use. Searched last, so a real one wins.
    const compat = join(work, "compat");
    mkdirSync(join(compat, "gnu"), { recursive: true });
    writeFileSync(join(compat, "gnu/stubs-32.h"), "/* empty: see tools/core-reloc-cases.mjs */\n");
    mark("headersMs", t);

    // 3. compile: the programs first, then the harness lists which target-BTF files the cases name
    const sys = clangSysIncludes();
    const bpfFlags = [
      "-g", "-Wall", "-Werror", "-D__TARGET_ARCH_x86", "-mlittle-endian",
      `-I${inc}`, `-I${selftests}`, `-I${join(tree, "tools/include/uapi")}`,
      "-Wno-compare-distinct-pointer-types",
      ...sys.flatMap((d) => ["-idirafter", d]), "-idirafter", compat,
      "-DENABLE_ATOMICS_TESTS",
      "-O2", "--target=bpf", "-mcpu=v3",
      `-fdebug-prefix-map=${work}=${DEBUG_PREFIX}`,
    ];
    const objDir = join(work, "obj");
    mkdirSync(objDir);
    const compileJob = (file) => ["clang-19", [...bpfFlags, "-c", `progs/${file}`, "-o", join(objDir, file.replace(/\.c$/, ".bpf.o"))], selftests, file];
    const progFiles = readdirSync(progs).filter((f) => /^test_core_reloc_\w+\.c$/.test(f)).sort();
    if (!progFiles.length) fail(`no ${SELFTESTS}/progs/test_core_reloc_*.c in ${tarball}`);

    const harness = join(work, "harness");
    mkdirSync(harness);
    writeFileSync(join(harness, "test_progs.h"), TEST_PROGS_H);
    const programInfo = {};
    for (const f of progFiles) programInfo[f.replace(/\.c$/, ".bpf.o")] = readProgramSource(f, readFileSync(join(progs, f), "utf8"));
    const outputTypes = [...new Set(Object.values(programInfo).map((p) => p.outputType))].sort();
    // member names of the output structs, from clang's own record layout dump of core_reloc_types.h
    const layoutTu = join(harness, "layouts.c");
    writeFileSync(layoutTu, `#include "progs/core_reloc_types.h"\n${outputTypes.map((s, i) => `int xbpf_size_${i} = sizeof(struct ${s});`).join("\n")}\n`);
    const dump = run("clang-19", ["-fsyntax-only", "-Xclang", "-fdump-record-layouts", `-I${selftests}`, "-w", layoutTu]);
    const outputMembers = recordMembers(dump, outputTypes);
    writeFileSync(join(harness, "core_reloc_cases.c"), driverSource(hookFunctions(coreRelocC), outputTypes, outputMembers));

    t = Date.now();
    const parallel = Math.max(1, availableParallelism());
    const gccJob = [
      "gcc",
      ["-std=gnu11", "-O0", "-Wall", "-Wno-unused-function", "-Wno-unused-variable", `-I${harness}`, `-I${selftests}`, "-o", join(harness, "core_reloc_cases"), join(harness, "core_reloc_cases.c"), "-lbpf"],
      harness,
      "the case printer (gcc)",
    ];
    await runAll([gccJob, ...progFiles.map(compileJob)], parallel);
    const listed = JSON.parse(run(join(harness, "core_reloc_cases"), ["--list"], { cwd: objDir }));
    const btfFiles = [...new Set(listed.cases.map((c) => c.btfSrcFile).filter(Boolean))].sort();
    const btfSources = btfFiles.map((o) => o.replace(/\.bpf\.o$/, ".c"));
    for (const s of btfSources) if (!existsSync(join(progs, s))) fail(`core_reloc.c names ${s.replace(/\.c$/, ".bpf.o")}, but ${SELFTESTS}/progs/${s} is not in ${tarball}`);
    await runAll(btfSources.map(compileJob), parallel);
    mark("compileMs", t);

    // 4. run the harness for real: setups read the objects
    t = Date.now();
    const printed = JSON.parse(run(join(harness, "core_reloc_cases"), [], { cwd: objDir }));
    mark("harnessMs", t);

    // 5. what the objects say
    const helpers = helperNames(helperDefs);
    const objects = {};
    for (const o of readdirSync(objDir).sort()) {
      const buf = readFileSync(join(objDir, o));
      if (buf.includes(Buffer.from(work))) fail(`${o} contains the build path ${work} (-fdebug-prefix-map missed it)`);
      const secs = elfSections(buf);
      const btf = secs.get(".BTF");
      if (!btf) fail(`${o} has no .BTF`);
      const ext = secs.get(".BTF.ext");
      const info = { btfKinds: [...btfKinds(btf)].sort(), coreRelos: ext ? coreRelos(ext) : { count: 0, kinds: [] }, sha256: sha256(buf) };
      const prog = programInfo[o];
      if (prog) {
        info.programs = {};
        for (const [name, section] of Object.entries(prog.programs)) {
          const code = secs.get(section) ?? fail(`${o}: no section ${section} for ${name}`);
          info.programs[name] = { section, helpers: helperCalls(code).map((id) => helpers.get(id) ?? `helper#${id}`) };
        }
      }
      objects[o] = info;
    }

    const cases = printed.cases.map((c, index) => caseRecord(c, index, { programInfo, objects, layouts: printed.layouts }));
    const unusedBtfSources = readdirSync(progs).filter((f) => /^btf__core_reloc_\w+\.c$/.test(f) && !btfSources.includes(f)).sort();
    writeFileSync(join(work, "cases.json"), JSON.stringify({ format: FORMAT, count: printed.count, cases }, null, 1) + "\n");

    rmSync(join(inc, "vmlinux.h"));
    rmSync(join(harness, "core_reloc_cases"));
    timings.totalMs = Date.now() - t0;
    const manifest = {
      format: FORMAT,
      contentKey,
      source: { tarball, top, kernelVersion: kernelVersion(readFileSync(join(tree, "Makefile"), "utf8")), members },
      tools: { ...tools, python3: run("python3", ["--version"]).trim() },
      bpfCflags: bpfFlags.map((f) => f.split(work).join(DEBUG_PREFIX)),
      vmlinuxH: { from: VMLINUX_BTF, kernel: release(), sha256: sha256(vmlinuxH), usedBy: ["test_core_reloc_module.bpf.o"] },
      objects,
      unusedBtfSources,
      timings,
      builtAt: new Date().toISOString(),
    };
    writeFileSync(join(work, "manifest.json"), JSON.stringify(manifest, null, 1) + "\n");
    mkdirSync(join(cache, "builds"), { recursive: true });
    rmSync(final, { recursive: true, force: true });
    renameSync(work, final);
    return { dir: final, contentKey, reused: false, count: cases.length, timings };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** One case of cases.json: the table's fields plus what the sources and objects say. */
function caseRecord(c, index, { programInfo, objects, layouts }) {
  const where = `test_cases[${index}] (${c.name})`;
  const prog = programInfo[c.bpfObjFile] ?? fail(`${where}: ${c.bpfObjFile} is not one of the compiled test_core_reloc_*.c`);
  const obj = objects[c.bpfObjFile];
  const p = obj.programs[c.progName] ?? fail(`${where}: ${c.bpfObjFile} has no program ${c.progName}`);
  if (c.btfSrcFile && !objects[c.btfSrcFile]) fail(`${where}: ${c.btfSrcFile} was not built`);
  if (c.setup === "?" || c.trigger === "?") fail(`${where}: a setup or trigger function the generator did not find by name`);
  const layout = layouts[prog.outputType];
  if (!c.fails) {
    if (c.output === null) fail(`${where}: no expected output`);
    if (c.outputLen !== layout.size) fail(`${where}: output_len ${c.outputLen} is not sizeof(struct ${prog.outputType}) = ${layout.size}`);
  }
  if (c.inputLen > 256 || c.outputLen > 256) fail(`${where}: input or output larger than data.in/data.out (256 bytes)`);
  const tpBtf = p.section.startsWith("tp_btf/");
  let run;
  let unsupported = null;
  if (c.needsTestmod) {
    run = "unsupported";
    unsupported = "needs bpf_testmod.ko (the selftests' test module) and its trigger (a read of /sys/kernel/bpf_testmod)";
  } else if (c.fails) run = "load-fails";
  else if (tpBtf) run = "attach";
  else run = "test-run";
  const runtimeFields = layout.fields.some((f) => f.name === "comm") && !c.fails ? ["comm", "comm_len"] : [];
  return {
    index,
    name: c.name,
    object: `obj/${c.bpfObjFile}`,
    program: c.progName,
    section: p.section,
    rawTpName: c.rawTpName,
    targetBtf: c.btfSrcFile ? `obj/${c.btfSrcFile}` : null,
    targetBtfSource: c.btfSrcFile ? "file" : c.needsTestmod ? "kernel-modules" : "vmlinux",
    input: c.input,
    inputSize: c.inputLen,
    output: c.fails ? null : c.output,
    outputSize: c.fails ? 0 : c.outputLen,
    outputType: prog.outputType,
    outputLayout: layout,
    fails: c.fails,
    runBtfgenFails: c.runBtfgenFails,
    needsTestmod: c.needsTestmod,
    relaxedCoreRelocs: c.relaxedCoreRelocs,
    setup: c.setup,
    trigger: c.trigger,
    run,
    unsupported,
    dataFields: prog.dataFields,
    runtimeFields,
    helpers: p.helpers,
    objectBtfKinds: obj.btfKinds,
    coreRelos: obj.coreRelos.count,
  };
}

/** The build folder: from the cache, or built now. */
export async function ensureBuild({ tarball = DEFAULT_TARBALL, cache = defaultCacheDir(), rebuild = false } = {}) {
  if (!rebuild) {
    const found = findBuild({ tarball, cache });
    if (found) return { dir: found, cached: true };
  }
  const missing = missingPrerequisites(tarball);
  if (missing.length) fail(`missing: ${missing.join("; ")}. As root, \`bash tools/core-reloc-cases.sh\` installs them.`);
  const qk = quickKey(tarball);
  return withLock(cache, async () => {
    if (!rebuild) {
      const found = findBuild({ tarball, cache });
      if (found) return { dir: found, cached: true };
    }
    const r = await build({ tarball, cache });
    mkdirSync(join(cache, "index"), { recursive: true });
    const tmp = join(cache, "index", `.${qk}.${process.pid}`);
    writeFileSync(tmp, JSON.stringify({ contentKey: r.contentKey, tarball, indexedAt: new Date().toISOString() }) + "\n");
    renameSync(tmp, join(cache, "index", `${qk}.json`));
    return { ...r, cached: false };
  }, log);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  quiet = opts.quiet || opts.printDir;
  const cache = opts.cache ?? defaultCacheDir();
  const t = Date.now();
  const r = await ensureBuild({ tarball: opts.tarball, cache, rebuild: opts.rebuild });
  if (opts.printDir) process.stdout.write(`${r.dir}\n`);
  else if (!opts.quiet) {
    const { count } = JSON.parse(readFileSync(join(r.dir, "cases.json"), "utf8"));
    log(`${count} cases in ${r.dir} (${r.cached ? "cached" : r.reused ? "reused" : "built"}, ${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }
}

function isMain() {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === SCRIPT;
  } catch {
    return false;
  }
}

if (isMain()) {
  main().catch((e) => {
    process.stderr.write(`core-reloc-cases: ${e instanceof BuildError ? e.message : e.stack}\n`);
    process.exit(1);
  });
}
