import { describeObject, openObject } from "@x/loader/open";
import { parseArgs, UsageError } from "../args.js";
import { table, toJson, valueText } from "../format.js";
import type { Command } from "../command.js";

export const inspect: Command = {
  usage: "xbpf inspect OBJ [--json]",
  run(argv, out) {
    const args = parseArgs(argv, { flags: ["json"] });
    const [path, ...rest] = args.positionals;
    if (!path || rest.length) throw new UsageError("expected exactly one object file");
    const d = describeObject(openObject(path));
    if (args.flags.has("json")) return out(toJson(d));
    out(`object ${d.name}  license ${JSON.stringify(d.license)}  btf ${d.btf ? "yes" : "no"}\n`);
    out("sections\n" + table(["idx", "name", "type", "size", "flags"], d.sections.map((s) => [s.index, s.name, s.type, s.size, s.flags])) + "\n");
    out("programs\n" + table(["name", "section", "type", "attach", "insns"], d.programs.map((p) => [p.name, p.section, p.type, p.attachType, p.insns])) + "\n");
    out("maps\n" + table(["name", "type", "key", "value", "max", "flags", "extra", "section"], d.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags.join("|") || "-", m.mapExtra ? `0x${m.mapExtra.toString(16)}` : "-", m.section])) + "\n");
    const ops = d.maps.flatMap((m) => Object.entries(m.structOps?.programs ?? {}).map(([member, prog]) => [m.name, m.structOps!.type, member, prog, m.autocreate ? "yes" : "no (?)"]));
    if (ops.length) out("struct_ops (registered with the kernel's struct of that name)\n" + table(["map", "type", "member", "program", "created"], ops) + "\n");
    const slots = d.maps.flatMap((m) => Object.entries(m.slots ?? {}).map(([i, target]) => [m.name, i, target]));
    if (slots.length) out("map slots (filled at load)\n" + table(["map", "slot", "holds"], slots) + "\n");
    out("variables\n" + table(["name", "section", "offset", "size", "type", "value"], d.variables.map((v) => [v.name, v.section, v.offset, v.size, v.type, valueText(v.value)])));
    const metadata = Object.entries(d.metadata);
    if (metadata.length) out("\nmetadata (bpf_metadata_*, shown with the loaded program)\n" + table(["name", "value"], metadata.map(([k, v]) => [k, valueText(v)])));
    const core = d.programs.flatMap((p) => p.coreRelocations.map((r) => [p.name, r.insn, r.kind, r.spec]));
    if (core.length) out("\nCO-RE relocations (resolved against the kernel's BTF at load)\n" + table(["program", "insn", "kind", "local type and access"], core));
    if (d.externs.length) {
      out("\nexterns (resolved at load)\n" + table(["name", "kind", "weak", "type", "value"], d.externs.map((e) => [e.name, e.kind, e.weak ? "yes" : "no", e.type, e.value ?? "-"])));
    }
  },
};
