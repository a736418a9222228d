import { loadObject, openObject } from "@x/loader";
import { ProgType } from "@x/sys/abi";
import { intOption, parseArgs, UsageError } from "../args.js";
import { hex, table, toJson, valueText } from "../format.js";
import type { Command } from "../command.js";
import { applySets, dataOption } from "../options.js";

/** Program types BPF_PROG_TEST_RUN runs on packet data. */
const PACKET_TYPES: ReadonlySet<number> = new Set([
  ProgType.SOCKET_FILTER, ProgType.SCHED_CLS, ProgType.SCHED_ACT, ProgType.XDP, ProgType.CGROUP_SKB, ProgType.LWT_IN,
  ProgType.LWT_OUT, ProgType.LWT_XMIT, ProgType.LWT_SEG6LOCAL, ProgType.SK_SKB, ProgType.FLOW_DISSECTOR,
]);

export const run: Command = {
  usage: "xbpf run OBJ PROG [--set NAME=VALUE]… [--data HEX|@FILE] [--ctx HEX|@FILE] [--repeat N] [--btf FILE] [--loader-program] [--json]",
  run(argv, out) {
    const args = parseArgs(argv, { flags: ["json", "loader-program"], values: ["data", "ctx", "repeat", "btf"], lists: ["set"] });
    const [path, progName, ...rest] = args.positionals;
    if (!path || !progName || rest.length) throw new UsageError("expected an object file and a program name");
    const spec = openObject(path);
    spec.program(progName);
    applySets(spec, args);
    const obj = loadObject(spec, { programs: [progName], btf: args.values.get("btf"), loaderProgram: args.flags.has("loader-program") });
    try {
      const prog = obj.program(progName);
      const packet = PACKET_TYPES.has(prog.spec.kind?.progType ?? -1);
      // Packet programs run on input data: by default 64 zero bytes (an Ethernet header and some).
      // Others (raw tracepoints, syscall programs) run once, on a context if one is given.
      const repeat = args.values.has("repeat") || packet ? intOption(args, "repeat", 1) : undefined;
      const data = dataOption(args, "data") ?? (args.values.has("ctx") || !packet ? undefined : new Uint8Array(64));
      const result = prog.testRun({ data, ctx: dataOption(args, "ctx"), repeat });
      const globals = [...obj.variables.values()].map((v) => ({ name: v.name, section: v.section, type: v.cType, value: v.get() }));
      if (args.flags.has("json")) {
        return out(toJson({ program: progName, retval: result.retval, durationNs: result.duration, repeat, dataOut: result.dataOut, globals }));
      }
      out(`${progName}: retval ${result.retval}  duration ${result.duration} ns${repeat && repeat > 1 ? ` (mean of ${repeat})` : ""}`);
      if (result.dataOut && data && hex(result.dataOut) !== hex(data)) out(`data out: ${hex(result.dataOut)}`);
      out("globals\n" + table(["name", "section", "type", "value"], globals.map((g) => [g.name, g.section, g.type, valueText(g.value)])));
    } finally {
      obj.dispose();
    }
  },
};
