/**
 * `xbpf prog list` and `xbpf prog show`: every program in the kernel, whoever loaded it, and one
 * program's metadata and globals, typed by its maps' BTF, live (`--set` writes one, `--watch`
 * reprints what changes).
 */
import { type LiveProgram, listPrograms, mapFlagNames, ObjectError, openProgram, type ProgramSummary, type Variable } from "@x/loader";
import { parseArgs, splitAssignment, UsageError } from "../args.js";
import type { Command } from "../command.js";
import { table, toJson, valueText } from "../format.js";

const USAGE = "xbpf prog list [--json]\n       xbpf prog show ID|PINNED_PATH [--set NAME=VALUE]… [--watch [SECONDS]] [--json]";

function summaryJson(p: ProgramSummary) {
  return {
    id: p.id, type: p.typeName.toLowerCase(), name: p.name, tag: p.tag, loadedAt: p.loadedAt.toISOString(), uid: p.uid,
    mapIds: p.mapIds, btfId: p.btfId || null, gplCompatible: p.gplCompatible, xlatedBytes: p.xlatedBytes, jitedBytes: p.jitedBytes,
  };
}

/** `2026-12-06 21:30:05`, local time, as bpftool prints load times. */
function localTime(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function globalRow(name: string, v: Variable) {
  return { name, section: v.section, type: v.cType, offset: v.offset, size: v.size, value: v.get() };
}

function show(p: LiveProgram) {
  return {
    ...summaryJson(p.summary),
    maps: p.maps.map((m) => ({ id: m.id, name: m.name, type: m.typeName, flags: mapFlagNames(m.flags), frozen: m.frozen, section: m.section ?? null })),
    metadata: Object.fromEntries([...p.metadata].map(([k, v]) => [k, v.get()])),
    globals: [...p.variables].map(([name, v]) => globalRow(name, v)),
  };
}

/** `--set NAME=VALUE` (NAME may be a field path) on a live program, typed like `xbpf patch`. */
function setGlobal(p: LiveProgram, assignment: string): void {
  const [path, text] = splitAssignment(assignment);
  const [name, ...fields] = path.replace(/\[(\d+)\]/g, ".$1").split(".");
  const v = p.variable(name!);
  try {
    if (fields.length) v.setField(fields, text, true);
    else v.setText(text);
  } catch (e) {
    const errno = (e as { errnoName?: string }).errnoName;
    if (!errno) throw e;
    // The kernel's answer (a frozen section: EPERM), said as what it means here.
    throw new ObjectError("OBJECT_READ_ONLY", `${path} (${v.section}) of program ${p.summary.id}: the kernel refused the write: ${(e as Error).message}${errno === "EPERM" ? ` (the map of ${v.section} is frozen, or read-only for user space)` : ""}`, { program: p.summary.name, section: v.section, variable: name }, { cause: e });
  }
}

function printShow(p: LiveProgram, out: (s: string) => void): void {
  const s = p.summary;
  out(`${s.id}: ${s.typeName.toLowerCase()}  name ${s.name || "-"}  tag ${s.tag}${s.gplCompatible ? "  gpl" : ""}`);
  out(`\tloaded_at ${localTime(s.loadedAt)}  uid ${s.uid}  xlated ${s.xlatedBytes}B  jited ${s.jitedBytes}B${s.btfId ? `  btf_id ${s.btfId}` : ""}`);
  out(`\tmap_ids ${s.mapIds.join(",") || "-"}`);
  if (p.metadata.size) {
    out("metadata");
    for (const [k, v] of p.metadata) out(`\t${k} = ${valueText(v.get())}`);
  }
  out("maps\n" + table(["id", "name", "type", "flags", "section"], p.maps.map((m) => [m.id, m.name, m.typeName, [...mapFlagNames(m.flags), ...(m.frozen ? ["frozen"] : [])].join("|") || "-", m.section])));
  const globals = [...p.variables].map(([name, v]) => globalRow(name, v));
  out(globals.length ? "globals\n" + table(["name", "section", "type", "value"], globals.map((g) => [g.name, g.section, g.type, valueText(g.value)])) : "globals: none (no data section with BTF)");
}

const valueNow = (v: Variable) => valueText(v.get());

/** Every global's value as text: what `--watch` compares against. */
function snapshot(p: LiveProgram): Map<string, string> {
  return new Map([...p.variables].map(([n, v]) => [n, valueNow(v)]));
}

/**
 * Reprint the globals that changed since `last` (taken before the first report was printed, so that
 * nothing changed between the two is missed), every `seconds`, until SIGINT or SIGTERM.
 */
async function watch(p: LiveProgram, last: Map<string, string>, seconds: number, json: boolean, out: (s: string) => void): Promise<void> {
  const text = valueNow;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onSignal = () => stop();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    for (;;) {
      const tick = await Promise.race([stopped.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), seconds * 1000))]);
      if (!tick) return;
      for (const [name, v] of p.variables) {
        const now = text(v);
        if (now === last.get(name)) continue;
        if (json) out(JSON.stringify(JSON.parse(toJson({ time: new Date().toISOString(), name, section: v.section, value: v.get(), was: last.get(name) }))));
        else out(`${localTime(new Date())}  ${name} = ${now}  (was ${last.get(name)})`);
        last.set(name, now);
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** `ID` or a pinned path. */
function target(arg: string): number | string {
  if (/^\d+$/.test(arg)) return Number(arg);
  if (arg.startsWith("/")) return arg;
  throw new UsageError(`expected a program id or the absolute path it is pinned at, got "${arg}"`);
}

export const prog: Command = {
  usage: USAGE,
  async run(argv, out) {
    const [sub, ...rest] = argv;
    if (sub === "list") {
      const args = parseArgs(rest, { flags: ["json"] });
      if (args.positionals.length) throw new UsageError("prog list takes no arguments");
      const progs = listPrograms();
      if (args.flags.has("json")) return out(toJson(progs.map(summaryJson)));
      out(table(["id", "type", "name", "tag", "loaded_at", "map_ids", "btf_id"], progs.map((p) => [p.id, p.typeName.toLowerCase(), p.name || "-", p.tag, localTime(p.loadedAt), p.mapIds.join(",") || "-", p.btfId || "-"])));
      return;
    }
    if (sub !== "show") throw new UsageError(sub ? `unknown prog command '${sub}' (list, show)` : "expected list or show");
    // --watch takes an optional number of seconds: a bare --watch is a flag.
    const watchAt = rest.indexOf("--watch");
    let watchSeconds: number | undefined;
    const argvRest = [...rest];
    if (watchAt >= 0) {
      const next = argvRest[watchAt + 1];
      const secs = next !== undefined && /^\d+(\.\d+)?$/.test(next) ? Number(next) : 1;
      argvRest.splice(watchAt, next !== undefined && /^\d+(\.\d+)?$/.test(next) ? 2 : 1);
      if (!(secs > 0)) throw new UsageError("--watch expects a positive number of seconds");
      watchSeconds = secs;
    }
    const args = parseArgs(argvRest, { flags: ["json"], lists: ["set"] });
    const [what, ...extra] = args.positionals;
    if (!what || extra.length) throw new UsageError("expected one program id or pinned path");
    const json = args.flags.has("json");
    using p = openProgram(target(what));
    for (const s of args.lists.get("set") ?? []) setGlobal(p, s);
    const last = watchSeconds !== undefined ? snapshot(p) : undefined;
    if (json) out(toJson(show(p)));
    else printShow(p, out);
    if (last) await watch(p, last, watchSeconds!, json, out);
  },
};
