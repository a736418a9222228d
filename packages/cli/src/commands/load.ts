import { type AttachTarget, loadObject, mapFlagNames, mapTypeName, openObject, type ProgramLoadOptions, progTypeName } from "@x/loader";
import { parseArgs, UsageError } from "../args.js";
import { table, toJson } from "../format.js";
import type { Command } from "../command.js";
import { applySets } from "../options.js";

export const load: Command = {
  usage: "xbpf load OBJ [--set NAME=VALUE]… [--program NAME]… [--attach-target PROG=ID|PATH[:FUNC]]… [--pin DIR] [--btf FILE] [--loader-program] [--json]",
  run(argv, out) {
    const args = parseArgs(argv, { flags: ["json", "loader-program"], values: ["pin", "btf"], lists: ["set", "program", "attach-target"] });
    const [path, ...rest] = args.positionals;
    if (!path || rest.length) throw new UsageError("expected exactly one object file");
    const spec = openObject(path);
    applySets(spec, args);
    const warnings: string[] = [];
    const programOptions = attachTargets(args.lists.get("attach-target") ?? []);
    const loaderProgram = args.flags.has("loader-program");
    const obj = loadObject(spec, { programs: args.lists.get("program"), programOptions, warn: (w) => warnings.push(w), btf: args.values.get("btf"), loaderProgram });
    try {
      const pinned = args.values.has("pin") ? obj.pin(args.values.get("pin")!) : undefined;
      const programs = [...obj.programs.values()].map((p) => {
        const info = p.info();
        return { name: p.name, section: p.spec.section, id: info.id, type: p.spec.kind && progTypeName(p.spec.kind.progType).toLowerCase(), tag: info.tag, pinned: pinned?.programs[p.name] ?? null };
      });
      const maps = [...obj.maps.values()].map((m) => {
        const info = m.info();
        return { name: m.name, id: info.id, type: mapTypeName(info.type), flags: mapFlagNames(info.flags), access: m.access ?? null, pinned: m.pinPath ?? null };
      });
      if (args.flags.has("json")) return out(toJson({ object: spec.name, via: loaderProgram ? "loader program" : "bpf(2)", programs, maps, warnings }));
      if (loaderProgram) out("(loaded by a loader program: the load replayed inside the kernel)");
      for (const w of warnings) out(`warning: ${w}`);
      out("programs\n" + table(["id", "name", "section", "type", "tag", "pinned"], programs.map((p) => [p.id, p.name, p.section, p.type, p.tag, p.pinned])));
      out("maps\n" + table(["id", "name", "type", "flags", "access", "pinned"], maps.map((m) => [m.id, m.name, m.type, m.flags.join("|") || "-", m.access, m.pinned])));
      if (!pinned) out("(not pinned: everything is released when xbpf exits; use --pin DIR to keep it)");
    } finally {
      obj.dispose();
    }
  },
};

/**
 * `--attach-target PROG=ID|PATH[:FUNC]`: the BPF program a freplace (or fentry/fexit) program `PROG` is
 * loaded against, by id or pinned path, and the function of it (default: the section's).
 */
function attachTargets(specs: readonly string[]): Record<string, ProgramLoadOptions> {
  const out: Record<string, ProgramLoadOptions> = {};
  for (const spec of specs) {
    const m = /^([^=]+)=([^:]+)(?::(.+))?$/.exec(spec);
    if (!m) throw new UsageError(`--attach-target ${spec}: expected PROG=ID|PATH[:FUNC]`);
    const target: AttachTarget = { program: /^\d+$/.test(m[2]!) ? Number(m[2]) : m[2]!, ...(m[3] ? { function: m[3] } : {}) };
    out[m[1]!] = { attachTarget: target };
  }
  return out;
}
