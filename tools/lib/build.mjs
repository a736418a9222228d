// Helpers of the tools that build from the kernel's source package (tools/core-reloc-cases.mjs,
// tools/selftests-corpus.mjs): running processes, a few at a time, a cache lock, reading the tarball.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { delimiter, join, relative } from "node:path";

/** A build step that failed, with what the user needs to know (the tools print it without a stack). */
export class BuildError extends Error {}

export function fail(msg) {
  throw new BuildError(msg);
}

export const sha256 = (data) => createHash("sha256").update(data).digest("hex");

/** The file a command name resolves to through PATH (symlinks followed), or undefined. */
export function which(cmd) {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      if (statSync(p).isFile()) return realpathSync(p);
    } catch {}
  }
  return undefined;
}

/** Size and mtime of a file (its resolved target): a cheap identity for quick cache indexes. */
export function stamp(path) {
  if (!path) return null;
  try {
    const real = realpathSync(path);
    const st = statSync(real);
    return { path: real, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return null;
  }
}

/** Run a command, its stdout as text; a failure is a BuildError with its output. */
export function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 256 << 20, stdio: ["ignore", "pipe", "pipe"], ...opts });
  } catch (e) {
    const out = [e.stdout, e.stderr].filter(Boolean).join("\n").trim();
    fail(`\`${cmd} ${args.join(" ")}\` failed${e.status != null ? ` (exit ${e.status})` : ""}: ${out || e.message}`);
  }
}

/**
 * Run jobs (`[cmd, args, cwd, what]`) `parallel` at a time. Resolves with every job's outcome
 * (`{ what, code, stderr }`); with `strict`, rejects with every failure's output instead.
 */
export function runAll(jobs, parallel, { strict = true } = {}) {
  return new Promise((resolve, reject) => {
    const results = [];
    let next = 0;
    let running = 0;
    const finish = () => {
      const failures = results.filter((r) => r.code !== 0);
      if (strict && failures.length) reject(new BuildError(`${failures.length} of ${jobs.length} jobs failed:\n${failures.map((f) => `${f.what}: exited ${f.code}\n${f.stderr.trim()}`).join("\n\n")}`));
      else resolve(results);
    };
    const start = () => {
      while (running < parallel && next < jobs.length) {
        const [cmd, args, cwd, what] = jobs[next++];
        running++;
        const child = spawn(cmd, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        child.stderr.on("data", (d) => (err += d));
        child.on("error", (e) => (err += e.message));
        child.on("close", (code) => {
          running--;
          results.push({ what, code: code ?? 1, stderr: err });
          if (next >= jobs.length && running === 0) finish();
          else start();
        });
      }
    };
    if (jobs.length === 0) resolve(results);
    else start();
  });
}

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A lock folder holding the owner's pid, so two builds into one cache wait for each other; a dead owner's lock is taken over. */
export async function withLock(cache, fn, log = () => {}) {
  const lock = join(cache, "lock");
  mkdirSync(cache, { recursive: true });
  const deadline = Date.now() + 15 * 60_000;
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(join(lock, "pid"), "utf8"));
      } catch {}
      let alive = false;
      if (Number.isInteger(owner) && owner > 0) {
        try {
          process.kill(owner, 0);
          alive = true;
        } catch (k) {
          alive = k.code === "EPERM";
        }
      } else {
        // Just created, pid not written yet: give the owner a moment.
        alive = Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs < 5000;
      }
      if (!alive) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) fail(`${lock} held by pid ${owner} for too long`);
      if (!announced) log(`waiting for pid ${owner}, which is building into the same cache`);
      announced = true;
      sleepMs(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The tarball's top folder (`linux-source-6.12`). */
export function topDir(tarball) {
  const first = run("sh", ["-c", 'tar -tJf "$1" 2>/dev/null | head -n 1', "sh", tarball]).trim();
  const top = first.split("/")[0];
  if (!top) fail(`${tarball}: cannot read its first member`);
  return top;
}

/** Every file under `dir`, relative to `base`, sorted. */
export function listFiles(dir, base = dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, base));
    else if (e.isFile()) out.push(relative(base, p));
  }
  return out.sort();
}

/** clang-19's own system include folders (the selftests Makefile's CLANG_SYS_INCLUDES, passed as -idirafter). */
export function clangSysIncludes() {
  const out = run("sh", ["-c", "clang-19 -v -E - </dev/null 2>&1"]);
  const m = /#include <\.\.\.> search starts here:\n([\s\S]*?)End of search list\./.exec(out);
  if (!m) fail("cannot read clang-19's system include directories (clang-19 -v -E -)");
  return m[1].split("\n").map((l) => l.trim()).filter(Boolean);
}
