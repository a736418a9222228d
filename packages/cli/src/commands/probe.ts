import { kernelVersion, probeAll, probeProgTypes } from "@x/sys";
import { parseArgs, UsageError } from "../args.js";
import { table, toJson } from "../format.js";
import type { Command } from "../command.js";

export const probe: Command = {
  name: "probe",
  summary: "show which BPF features and program types the running kernel has",
  usage: "xbpf probe [--json]",
  run(argv, out) {
    const args = parseArgs(argv, { flags: ["json"] });
    if (args.positionals.length) throw new UsageError("probe takes no arguments");
    const kernel = kernelVersion();
    const features = probeAll().map((r) => ({ name: r.name, supported: r.supported, since: r.minKernel, description: r.description, error: r.error ?? null }));
    // "unknown": the type needs an attach target to load, so a bare load cannot tell.
    const programTypes = probeProgTypes().map((r) => ({ name: r.name.replace(/^prog_type /, ""), status: r.status, since: r.minKernel, error: r.error ?? null }));
    if (args.flags.has("json")) return out(toJson({ kernel: kernel.release, features, programTypes }));
    out(`kernel ${kernel.release}`);
    out(table(["feature", "supported", "since", "description"], features.map((f) => [f.name, f.supported ? "yes" : "no", f.since, f.description])));
    out("");
    out(table(["program type", "status", "since"], programTypes.map((t) => [t.name, t.status === "supported" ? "yes" : t.status === "missing" ? "no" : "unknown", t.since])));
  },
};
