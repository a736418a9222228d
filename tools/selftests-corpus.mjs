// Builds the kernel's BPF selftests (tools/testing/selftests/bpf/progs/*.c of Debian's linux-source-6.12,
// /usr/src/linux-source-6.12.tar.xz) as the selftests Makefile compiles them, and the libbpf of the same
// source package with a small harness (tools/corpus/libbpf-harness.c), into a per-machine cache: the
// corpus `npm run corpus` loads with @x and with libbpf. Nothing of the kernel's source is copied into the
// repo: every file is read from the tarball at build time.
//
// Usage: node tools/selftests-corpus.mjs [--tarball PATH] [--cache DIR] [--only NAME,…] [--print-dir] [--quiet]
//        bash tools/selftests-corpus.sh [same]   (installs the missing Debian packages first, as root)
//
// The build folder (printed with --print-dir) holds:
//   obj/NAME.bpf.o   every program file that compiles (with -Werror, else without, as the Makefile's
//                    flags otherwise are: BPF_CFLAGS, CLANG_SYS_INCLUDES, -DENABLE_ATOMICS_TESTS,
//                    -mcpu=v3, the per-file -fno-strict-aliasing / -fno-inline)
//   manifest.json    the tarball, kernel version, tools, flags, and each file's outcome (ok, without
//                    -Werror, or the compiler's first error)
//   harness          the libbpf harness, linked with that libbpf (static)
// Objects are cached by content (the file, every header, vmlinux.h, the flags and clang's version), so a
// second build compiles only what changed; a new kernel's vmlinux.h recompiles everything.

import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, homedir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BuildError, clangSysIncludes, fail, listFiles, run, runAll, sha256, topDir, which, withLock } from "./lib/build.mjs";

const SCRIPT = fileURLToPath(import.meta.url);
const HARNESS_SRC = fileURLToPath(new URL("./corpus/libbpf-harness.c", import.meta.url));
const DEFAULT_TARBALL = process.env.XBPF_CORE_RELOC_TARBALL || "/usr/src/linux-source-6.12.tar.xz";
const SELFTESTS = "tools/testing/selftests/bpf";
const VMLINUX_BTF = "/sys/kernel/btf/vmlinux";
const DEBUG_PREFIX = "/xbpf-selftests";
/** Files the selftests Makefile compiles with extra flags. */
const FILE_FLAGS = {
  "bind4_prog.c": ["-fno-strict-aliasing"], "bind6_prog.c": ["-fno-strict-aliasing"], "dynptr_fail.c": ["-fno-strict-aliasing"],
  "linked_list_fail.c": ["-fno-strict-aliasing"], "map_kptr_fail.c": ["-fno-strict-aliasing"], "syscall.c": ["-fno-strict-aliasing"],
  "test_pkt_md_access.c": ["-fno-strict-aliasing"], "test_sk_lookup.c": ["-fno-strict-aliasing"], "timer_crash.c": ["-fno-strict-aliasing"],
  "test_global_func9.c": ["-fno-strict-aliasing"], "verifier_nocsr.c": ["-fno-strict-aliasing"],
  "test_l4lb_noinline.c": ["-fno-inline"], "test_xdp_noinline.c": ["-fno-inline"],
};

let quiet = false;
const log = (msg) => quiet || process.stderr.write(`selftests-corpus: ${msg}\n`);

export function defaultCacheDir() {
  if (process.env.XBPF_SELFTESTS_CACHE) return process.env.XBPF_SELFTESTS_CACHE;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "xbpf-selftests");
}

/** What the build needs on the machine: each entry says what is missing and the Debian package with it. */
export function missingPrerequisites(tarball = DEFAULT_TARBALL) {
  const missing = [];
  if (!existsSync(tarball)) missing.push(`${tarball} (apt-get install linux-source-6.12)`);
  for (const [cmd, pkg] of [["clang-19", "clang-19"], ["gcc", "gcc"], ["bpftool", "bpftool"], ["python3", "python3"], ["xz", "xz-utils"]]) {
    if (!which(cmd)) missing.push(`${cmd} (apt-get install ${pkg})`);
  }
  if (!existsSync("/usr/include/libelf.h")) missing.push("libelf's headers (apt-get install libelf-dev)");
  if (!existsSync("/usr/include/zlib.h")) missing.push("zlib's headers (apt-get install zlib1g-dev)");
  if (!existsSync(VMLINUX_BTF)) missing.push(`${VMLINUX_BTF} (a kernel with CONFIG_DEBUG_INFO_BTF, for vmlinux.h)`);
  return missing;
}

/** Extracts the members the build needs into `dest`; returns the tarball's top folder. */
function extract(tarball, dest) {
  const top = topDir(tarball);
  const st = `${top}/${SELFTESTS}`;
  run("tar", ["-xJf", tarball, "-C", dest, "--wildcards", "--no-wildcards-match-slash",
    `${st}/progs/*.c`, `${st}/progs/*.h`, `${st}/*.h`, `${st}/bpf_testmod/*.h`,
    `${top}/tools/lib/bpf/*.c`, `${top}/tools/lib/bpf/*.h`, `${top}/tools/include`, `${top}/tools/arch/x86/include`, `${top}/scripts/bpf_doc.py`, `${top}/Makefile`]);
  for (const must of [`${st}/progs/bpf_misc.h`, `${top}/tools/lib/bpf/libbpf.c`, `${top}/tools/include/uapi/linux/bpf.h`]) {
    if (!existsSync(join(dest, must))) fail(`${tarball} has no ${must}`);
  }
  return top;
}

function kernelVersion(makefile) {
  const v = (k) => new RegExp(`^${k} = ?(.*)$`, "m").exec(makefile)?.[1]?.trim() ?? "";
  return `${v("VERSION")}.${v("PATCHLEVEL")}.${v("SUBLEVEL")}${v("EXTRAVERSION")}`;
}

/** libbpf of the source package, as a static library, and the harness linked with it: `{ harness, version }`. */
async function buildLibbpf(tree, cache, inc) {
  const src = join(tree, "tools/lib/bpf");
  const files = readdirSync(src).filter((f) => f.endsWith(".c")).sort();
  const key = sha256(JSON.stringify({
    files: files.map((f) => [f, sha256(readFileSync(join(src, f)))]),
    headers: listFiles(join(tree, "tools/include")).map((f) => [f, sha256(readFileSync(join(tree, "tools/include", f)))]),
    harness: sha256(readFileSync(HARNESS_SRC)),
    gcc: run("gcc", ["--version"]).split("\n")[0],
  }));
  const dir = join(cache, "libbpf", key);
  const versionH = readFileSync(join(src, "libbpf_version.h"), "utf8");
  const version = `${/LIBBPF_MAJOR_VERSION (\d+)/.exec(versionH)?.[1]}.${/LIBBPF_MINOR_VERSION (\d+)/.exec(versionH)?.[1]}`;
  if (existsSync(join(dir, "harness"))) return { harness: join(dir, "harness"), version };
  log(`building libbpf ${version} (${files.length} files) and the harness`);
  const work = mkdtempSync(join(cache, "tmp", "libbpf-"));
  const cflags = ["-O2", "-g", "-fPIC", "-D_LARGEFILE64_SOURCE", "-D_FILE_OFFSET_BITS=64", `-I${src}`, `-I${join(tree, "tools/include")}`, `-I${join(tree, "tools/include/uapi")}`, "-w"];
  await runAll(files.map((f) => ["gcc", [...cflags, "-c", join(src, f), "-o", join(work, f.replace(/\.c$/, ".o"))], work, `libbpf ${f}`]), Math.max(1, availableParallelism()));
  run("ar", ["rcs", join(work, "libbpf.a"), ...files.map((f) => join(work, f.replace(/\.c$/, ".o")))]);
  run("gcc", ["-O1", "-Wall", `-I${inc}`, `-I${join(tree, "tools/include/uapi")}`, "-o", join(work, "harness"), HARNESS_SRC, join(work, "libbpf.a"), "-lelf", "-lz"]);
  mkdirSync(join(cache, "libbpf"), { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  return { harness: join(dir, "harness"), version };
}

async function build({ tarball, cache, only }) {
  const t0 = Date.now();
  mkdirSync(join(cache, "tmp"), { recursive: true });
  const work = mkdtempSync(join(cache, "tmp", "build-"));
  try {
    log(`extracting from ${tarball}`);
    const srcDir = join(work, "src");
    mkdirSync(srcDir);
    const top = extract(tarball, srcDir);
    const tree = join(srcDir, top);
    const selftests = join(tree, SELFTESTS);
    const progs = join(selftests, "progs");

    // Headers: libbpf's, bpf_helper_defs.h, vmlinux.h of the running kernel, an empty gnu/stubs-32.h.
    const inc = join(work, "include");
    mkdirSync(join(inc, "bpf"), { recursive: true });
    for (const f of readdirSync(join(tree, "tools/lib/bpf"))) if (f.endsWith(".h")) cpSync(join(tree, "tools/lib/bpf", f), join(inc, "bpf", f));
    writeFileSync(join(inc, "bpf/bpf_helper_defs.h"), run("python3", [join(tree, "scripts/bpf_doc.py"), "--header", "--file", join(tree, "tools/include/uapi/linux/bpf.h")], { cwd: tree }));
    writeFileSync(join(inc, "vmlinux.h"), run("bpftool", ["btf", "dump", "file", VMLINUX_BTF, "format", "c"]));
    const compat = join(work, "compat");
    mkdirSync(join(compat, "gnu"), { recursive: true });
    writeFileSync(join(compat, "gnu/stubs-32.h"), "/* empty: see tools/selftests-corpus.mjs */\n");

    const flags = [
      "-g", "-Wall", "-D__TARGET_ARCH_x86", "-mlittle-endian", `-I${inc}`, `-I${selftests}`, `-I${join(tree, "tools/include/uapi")}`,
      "-Wno-compare-distinct-pointer-types", ...clangSysIncludes().flatMap((d) => ["-idirafter", d]), "-idirafter", compat,
      "-DENABLE_ATOMICS_TESTS", "-O2", "--target=bpf", "-mcpu=v3", `-fdebug-prefix-map=${work}=${DEBUG_PREFIX}`,
    ];
    const headerHash = sha256(JSON.stringify([
      ...listFiles(inc).map((f) => [f, sha256(readFileSync(join(inc, f)))]),
      ...listFiles(selftests).filter((f) => f.endsWith(".h")).map((f) => [f, sha256(readFileSync(join(selftests, f)))]),
      run("clang-19", ["--version"]).split("\n")[0], flags.filter((f) => !f.includes(work)),
    ]));
    const objCache = join(cache, "objects");
    mkdirSync(objCache, { recursive: true });
    const wanted = readdirSync(progs).filter((f) => f.endsWith(".c") && (!only || only.includes(f.replace(/\.c$/, "")))).sort();
    const keyOf = (f) => sha256(JSON.stringify([headerHash, FILE_FLAGS[f] ?? [], sha256(readFileSync(join(progs, f)))]));
    const todo = wanted.filter((f) => !existsSync(join(objCache, `${keyOf(f)}.json`)));
    log(`${wanted.length} program files, ${wanted.length - todo.length} cached, compiling ${todo.length}`);
    const out = join(work, "compiled");
    mkdirSync(out);
    const job = (f, strict) => ["clang-19", [...flags, ...(strict ? ["-Werror"] : []), ...(FILE_FLAGS[f] ?? []), "-c", `progs/${f}`, "-o", join(out, `${f}.${strict ? "w" : "n"}.o`)], selftests, f];
    const parallel = Math.max(1, availableParallelism());
    const strict = await runAll(todo.map((f) => job(f, true)), parallel, { strict: false });
    const retry = strict.filter((r) => r.code !== 0).map((r) => r.what);
    const loose = new Map((await runAll(retry.map((f) => job(f, false)), parallel, { strict: false })).map((r) => [r.what, r]));
    for (const f of todo) {
      const key = keyOf(f);
      const l = loose.get(f);
      const outcome = !l ? "ok" : l.code === 0 ? "without -Werror" : `failed: ${l.stderr.split("\n").find((x) => /error:/.test(x))?.trim() ?? `clang exited ${l.code}`}`;
      if (outcome !== "ok" && !outcome.startsWith("without")) writeFileSync(join(objCache, `${key}.json`), JSON.stringify({ outcome }));
      else {
        copyFileSync(join(out, `${f}.${l ? "n" : "w"}.o`), join(objCache, `${key}.o`));
        writeFileSync(join(objCache, `${key}.json`), JSON.stringify({ outcome }));
      }
    }

    const { harness, version } = await buildLibbpf(tree, cache, inc);
    const buildKey = sha256(JSON.stringify([headerHash, wanted.map(keyOf), harness]));
    const final = join(cache, "builds", buildKey);
    if (!existsSync(join(final, "manifest.json"))) {
      const dir = join(work, "build");
      mkdirSync(join(dir, "obj"), { recursive: true });
      const files = {};
      for (const f of wanted) {
        const key = keyOf(f);
        const { outcome } = JSON.parse(readFileSync(join(objCache, `${key}.json`), "utf8"));
        files[f] = outcome;
        if (existsSync(join(objCache, `${key}.o`))) copyFileSync(join(objCache, `${key}.o`), join(dir, "obj", f.replace(/\.c$/, ".bpf.o")));
      }
      copyFileSync(harness, join(dir, "harness"));
      const manifest = {
        tarball, kernel: kernelVersion(readFileSync(join(tree, "Makefile"), "utf8")), libbpf: version,
        clang: run("clang-19", ["--version"]).split("\n")[0], vmlinux: run("uname", ["-r"]).trim(),
        flags: flags.map((f) => f.replace(work, DEBUG_PREFIX)), files,
      };
      writeFileSync(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
      mkdirSync(join(cache, "builds"), { recursive: true });
      rmSync(final, { recursive: true, force: true });
      renameSync(dir, final);
    }
    const m = JSON.parse(readFileSync(join(final, "manifest.json"), "utf8"));
    const outcomes = Object.values(m.files);
    log(`${outcomes.filter((o) => o === "ok").length} compiled, ${outcomes.filter((o) => o === "without -Werror").length} only without -Werror, ${outcomes.filter((o) => o.startsWith("failed")).length} failed; libbpf ${m.libbpf}; ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    return final;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Build (or find in the cache) the corpus; returns its folder. */
export async function buildCorpus({ tarball = DEFAULT_TARBALL, cache = defaultCacheDir(), only } = {}) {
  const missing = missingPrerequisites(tarball);
  if (missing.length) fail(`missing: ${missing.join("; ")} (bash tools/selftests-corpus.sh installs them)`);
  return withLock(cache, () => build({ tarball, cache, only }), log);
}

async function main() {
  const args = process.argv.slice(2);
  const o = { tarball: DEFAULT_TARBALL, cache: defaultCacheDir(), only: undefined, printDir: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--tarball") o.tarball = args[++i];
    else if (a === "--cache") o.cache = args[++i];
    else if (a === "--only") o.only = args[++i].split(",");
    else if (a === "--print-dir") o.printDir = true;
    else if (a === "--quiet") quiet = true;
    else fail(`unknown argument ${a} (usage: node tools/selftests-corpus.mjs [--tarball PATH] [--cache DIR] [--only NAME,…] [--print-dir] [--quiet])`);
  }
  const dir = await buildCorpus(o);
  if (o.printDir) console.log(dir);
}

if (process.argv[1] && basename(process.argv[1]) === basename(SCRIPT)) {
  main().catch((e) => {
    process.stderr.write(`selftests-corpus: ${e instanceof BuildError ? e.message : e.stack}\n`);
    process.exit(1);
  });
}
