import { loadObject, openObject } from "@x/loader";
import { intOption, parseArgs, UsageError } from "../args.js";
import { hex, table, toJson, valueText } from "../format.js";
import type { Command } from "../command.js";
import { applySets, dataOption } from "../options.js";

export const run: Command = {
  usage: "xbpf run OBJ PROG [--set NAME=VALUE]… [--data HEX|@FILE] [--ctx HEX|@FILE] [--repeat N] [--json]",
  run(argv, out) {
    const args = parseArgs(argv, { flags: ["json"], values: ["data", "ctx", "repeat"], lists: ["set"] });
    const [path, progName, ...rest] = args.positionals;
    if (!path || !progName || rest.length) throw new UsageError("expected an object file and a program name");
    const spec = openObject(path);
    spec.program(progName);
    applySets(spec, args);
    const obj = loadObject(spec, { programs: [progName] });
    try {
      const repeat = intOption(args, "repeat", 1);
      // Packet programs need at least an Ethernet header of input: default to 64 zero bytes.
      const data = dataOption(args, "data") ?? (args.values.has("ctx") ? undefined : new Uint8Array(64));
      const result = obj.program(progName).testRun({ data, ctx: dataOption(args, "ctx"), repeat });
      const globals = [...obj.variables.values()].map((v) => ({ name: v.name, section: v.section, type: v.cType, value: v.get() }));
      if (args.flags.has("json")) {
        return out(toJson({ program: progName, retval: result.retval, durationNs: result.duration, repeat, dataOut: result.dataOut, globals }));
      }
      out(`${progName}: retval ${result.retval}  duration ${result.duration} ns${repeat > 1 ? ` (mean of ${repeat})` : ""}`);
      if (result.dataOut && data && hex(result.dataOut) !== hex(data)) out(`data out: ${hex(result.dataOut)}`);
      out("globals\n" + table(["name", "section", "type", "value"], globals.map((g) => [g.name, g.section, g.type, valueText(g.value)])));
    } finally {
      obj.dispose();
    }
  },
};
