import { writeFileSync } from "node:fs";
import { openObject, ObjectError } from "@x/loader/open";
import { parseArgs, splitAssignment, UsageError } from "../args.js";
import { toJson, valueText } from "../format.js";
import type { Command } from "../command.js";

export const patch: Command = {
  usage: "xbpf patch OBJ --set NAME=VALUE [--set …] -o OUT [--json]",
  run(argv, out) {
    const args = parseArgs(argv, { flags: ["json"], values: ["output"], lists: ["set"], short: { o: "output" } });
    const [path, ...rest] = args.positionals;
    if (!path || rest.length) throw new UsageError("expected exactly one object file");
    const output = args.values.get("output");
    if (!output) throw new UsageError("missing -o OUT");
    const sets = args.lists.get("set") ?? [];
    if (!sets.length) throw new UsageError("nothing to patch: give at least one --set NAME=VALUE");
    const spec = openObject(path);
    const changed = sets.map((s) => {
      const [name, value] = splitAssignment(s);
      const variable = spec.variable(name.split(".")[0]!);
      if (variable.section === ".bss" || variable.section.startsWith(".bss.")) {
        throw new ObjectError("OBJECT_NOT_PATCHABLE", `'${variable.name}' is in ${variable.section}, which holds no bytes in the object file (zero-initialised); initialise it in C to move it to .data, or set it at load time with xbpf load --set`, { object: spec.name, section: variable.section, variable: variable.name });
      }
      spec.set(name, value, { text: true });
      return { name, section: variable.section, value: spec.get(name) };
    });
    writeFileSync(output, spec.toElf());
    if (args.flags.has("json")) return out(toJson({ output, changed }));
    for (const c of changed) out(`${c.name} = ${valueText(c.value)}  (${c.section})`);
    out(`wrote ${output}`);
  },
};
