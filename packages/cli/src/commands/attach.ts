/**
 * `xbpf attach`, `xbpf replace`, `xbpf detach`: the template workflow from a shell. An attachment
 * lives in a pin directory: the link at `DIR/link`, the program at `DIR/PROG`, its maps under
 * `DIR/maps/` (maps pinned by name stay under the pin root, where every version finds them).
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { type AttachPoint, attachTypeName, type Attachment, type CarriedGlobal, openObject, openPinnedLink, replaceProgram } from "@x/loader";
import { parseArgs, UsageError } from "../args.js";
import type { Command } from "../command.js";
import { table, toJson } from "../format.js";
import { applySets } from "../options.js";

const POINTS = ["xdp", "tc", "cgroup", "netns", "tracing"] as const;

/** The attach point of `--xdp IFACE | --tc IFACE:ingress|egress | --cgroup PATH | --netns PATH | --tracing`, with `--in-netns NS` for the interface. */
function attachPoint(args: ReturnType<typeof parseArgs>): AttachPoint {
  const given = POINTS.filter((p) => (p === "tracing" ? args.flags.has(p) : args.values.has(p)));
  if (given.length !== 1) throw new UsageError(`give exactly one of --xdp IFACE, --tc IFACE:ingress|egress, --cgroup PATH, --netns PATH, --tracing${given.length ? ` (got ${given.map((g) => `--${g}`).join(", ")})` : ""}`);
  const netns = args.values.get("in-netns");
  const via = args.values.get("via");
  if (via !== undefined && via !== "link" && via !== "netlink") throw new UsageError(`--via ${via}: expected link or netlink`);
  if (via && given[0] !== "xdp" && given[0] !== "tc") throw new UsageError("--via chooses how --xdp or --tc attach");
  if (netns && given[0] !== "xdp" && given[0] !== "tc") throw new UsageError("--in-netns names the namespace of --xdp or --tc's interface");
  const iface = (name: string) => ({ interface: /^\d+$/.test(name) ? Number(name) : name, ...(netns ? { netns } : {}), ...(via ? { via: via as "link" | "netlink" } : {}) });
  switch (given[0]) {
    case "xdp":
      return { xdp: iface(args.values.get("xdp")!) };
    case "tc": {
      const m = /^(.+):(ingress|egress)$/.exec(args.values.get("tc")!);
      if (!m) throw new UsageError(`--tc ${args.values.get("tc")}: expected IFACE:ingress or IFACE:egress`);
      return { tc: { ...iface(m[1]!), direction: m[2] as "ingress" | "egress" } };
    }
    case "cgroup":
      return { cgroup: { path: args.values.get("cgroup")! } };
    case "netns":
      return { netns: { path: args.values.get("netns")! } };
    default:
      return { tracing: true };
  }
}

/** Remove what a previous version pinned under `dir`, all but the link. */
function unpinVersion(dir: string): void {
  for (const name of readdirSync(dir)) if (name !== "link") rmSync(`${dir}/${name}`, { recursive: true, force: true });
}

function linkJson(link: Attachment) {
  const info = link.info();
  return { id: info.id || null, kind: link.kind, via: link.via, programId: info.progId, ifindex: info.ifindex ?? null, attachType: info.attachType === undefined ? null : attachTypeName(info.attachType).toLowerCase() };
}

export const attach: Command = {
  usage: "xbpf attach OBJ PROG (--xdp IFACE | --tc IFACE:ingress|egress | --cgroup PATH | --netns PATH | --tracing) [--in-netns NS] [--via link|netlink] [--set NAME=VALUE]… --pin DIR [--pin-root DIR] [--json]",
  run(argv, out) {
    const args = parseArgs(argv, { flags: ["json", "tracing"], values: ["xdp", "tc", "cgroup", "netns", "in-netns", "via", "pin", "pin-root"], lists: ["set"] });
    const [path, program, ...rest] = args.positionals;
    if (!path || !program || rest.length) throw new UsageError("expected an object file and the name of the program to attach");
    const dir = args.values.get("pin");
    if (!dir) throw new UsageError("--pin DIR is required: the attachment lives there (DIR/link) after xbpf exits");
    if (existsSync(`${dir}/link`)) throw new UsageError(`${dir}/link exists: replace it with xbpf replace ${dir} …, or remove it with xbpf detach ${dir}`);
    const point = attachPoint(args);
    const spec = openObject(path);
    applySets(spec, args);
    using obj = spec.load({ programs: [program], pinRoot: args.values.get("pin-root") });
    using link = obj.program(program).attach(point);
    const pinned = obj.pin(dir);
    try {
      link.pin(`${dir}/link`);
    } catch (e) {
      unpinVersion(dir);
      throw e;
    }
    const prog = obj.program(program).info();
    const maps = [...obj.maps.values()].map((m) => ({ name: m.name, id: m.info().id, pinned: m.pinPath ?? null }));
    const result = { object: spec.name, program: { name: program, id: prog.id, pinned: pinned.programs[program] }, link: { ...linkJson(link), pinned: `${dir}/link` }, maps };
    if (args.flags.has("json")) return out(toJson(result));
    out(`attached ${program} (program ${prog.id}) with ${describe(link, result.link.id)}, pinned at ${dir}/link`);
    out(table(["id", "map", "pinned"], maps.map((m) => [m.id, m.name, m.pinned])));
  },
};

/** `tcx link 114`, or `tc filter (netlink)`. */
function describe(a: Attachment, id: number | null): string {
  return a.via === "link" ? `${a.kind} link ${id}` : `${a.kind === "tc" ? "tc filter" : "XDP program"} (netlink)`;
}

function globalsTable(globals: readonly CarriedGlobal[]): string {
  return table(["global", "section", "outcome", "detail"], globals.map((g) => [g.name, g.section, g.outcome, g.from ? `${g.from} -> ${g.to}` : ""]));
}

export const replace: Command = {
  usage: "xbpf replace DIR OBJ PROG [--set NAME=VALUE]… [--keep-globals] [--reuse-map NAME]… [--pin-root DIR] [--json]",
  run(argv, out) {
    const args = parseArgs(argv, { flags: ["json", "keep-globals"], values: ["pin-root"], lists: ["set", "reuse-map"] });
    const [dir, path, program, ...rest] = args.positionals;
    if (!dir || !path || !program || rest.length) throw new UsageError("expected the pin directory of an attachment, an object file and the program to attach");
    const spec = openObject(path);
    applySets(spec, args);
    using link = openPinnedLink(`${dir}/link`);
    const r = replaceProgram(link, spec, { program, pinRoot: args.values.get("pin-root"), keepGlobals: args.flags.has("keep-globals"), reuseMaps: args.lists.get("reuse-map") ?? [] });
    using _obj = r.object;
    unpinVersion(dir);
    r.object.pin(dir);
    const result = { link: linkJson(link), previousProgramId: r.previousProgramId, programId: r.programId, globals: r.globals };
    if (args.flags.has("json")) return out(toJson(result));
    out(`replaced program ${r.previousProgramId} with ${r.programId} (${program}) on ${describe(link, result.link.id)}`);
    if (r.globals.length) out(globalsTable(r.globals));
  },
};

export const detach: Command = {
  usage: "xbpf detach DIR [--json]",
  run(argv, out) {
    const args = parseArgs(argv, { flags: ["json"] });
    const [dir, ...rest] = args.positionals;
    if (!dir || rest.length) throw new UsageError("expected the pin directory of an attachment");
    const link = openPinnedLink(`${dir}/link`);
    const info = linkJson(link);
    link.detach();
    rmSync(dir, { recursive: true, force: true });
    if (args.flags.has("json")) return out(toJson({ detached: info, removed: dir }));
    out(`detached ${describe(link, info.id)} (program ${info.programId}); removed ${dir}`);
  },
};
