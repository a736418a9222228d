// The libbpf harness (tools/corpus/libbpf-harness.c, built by tools/selftests-corpus.mjs) driven from
// JavaScript: its JSON answers, and libbpf as a loader of `runTests` (@x/loader's annotated-test runner),
// driven exactly as @x's objectTestLoader is.
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";

/** One harness call: its JSON lines (a crash is one line saying so). */
export function harness(path, ...argv) {
  const r = spawnSync(path, argv, { encoding: "utf8", maxBuffer: 64 << 20, timeout: 600_000 });
  if (r.status !== 0) return [{ opened: false, ok: false, loaded: false, error: `harness exited ${r.status ?? r.signal}: ${(r.stderr ?? "").trim().slice(0, 200)}` }];
  return r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

/** libbpf loading the tests of the object at `object`, through the harness at `path`. */
export function libbpfTestLoader(path, object) {
  return (req) =>
    harness(path, "test", object, req.target, String(req.logLevel), String(req.flags), req.btfPath ? resolve(dirname(object), req.btfPath) : "-", req.run ? "1" : "0", ...req.programs.filter((p) => p !== req.target))[0];
}
