import { kernelVersion, probeAll, probeProgTypes, type ProbeStatus } from "@x/sys";
import { parseArgs, UsageError } from "../args.js";
import { table, toJson } from "../format.js";
import type { Command } from "../command.js";

/** `yes` / `no` / `unknown (EPERM)`: the answer in a table cell. */
function answer(status: ProbeStatus, errno: string | null): string {
  if (status === "supported") return "yes";
  if (status === "missing") return "no";
  return errno ? `unknown (${errno})` : "unknown";
}

export const probe: Command = {
  usage: "xbpf probe [--json]",
  run(argv, out) {
    const args = parseArgs(argv, { flags: ["json"] });
    if (args.positionals.length) throw new UsageError("probe takes no arguments");
    const kernel = kernelVersion();
    // status: "supported", "missing", or "unknown" (the probe could not tell: error says why).
    const features = probeAll().map((r) => ({
      name: r.name, status: r.status, supported: r.supported, since: r.minKernel, description: r.description, errno: r.errno ?? null, error: r.error ?? null,
    }));
    // "unknown" also when the type needs an attach target to load, so a bare load cannot tell.
    const programTypes = probeProgTypes().map((r) => ({
      name: r.name.replace(/^prog_type /, ""), status: r.status, since: r.minKernel, errno: r.errno ?? null, error: r.error ?? null,
    }));
    if (args.flags.has("json")) return out(toJson({ kernel: kernel.release, features, programTypes }));
    out(`kernel ${kernel.release}`);
    out(table(["feature", "supported", "since", "description"], features.map((f) => [f.name, answer(f.status, f.errno), f.since, f.description])));
    const unknown = features.filter((f) => f.status === "unknown");
    if (unknown.length) {
      out("");
      out("could not tell:");
      for (const f of unknown) out(`  ${f.name}: ${f.error ?? "no reason given"}`);
    }
    out("");
    out(table(["program type", "status", "since"], programTypes.map((t) => [t.name, answer(t.status, t.errno), t.since])));
  },
};
