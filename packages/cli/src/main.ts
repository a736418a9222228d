/**
 * xbpf: inspect, patch, load and run BPF objects.
 * Exit codes: 0 success, 1 the operation failed, 2 bad command line.
 */
import { UsageError } from "./args.js";
import { commands } from "./commands/index.js";
import { errorReport } from "./errors.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return ["usage: xbpf COMMAND [ARGS] [--json]", "", "commands:", ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`), "", "xbpf COMMAND --help shows a command's usage."].join("\n");
}

/** Run the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: readonly string[], out = (s: string) => void process.stdout.write(s + "\n"), err = (s: string) => void process.stderr.write(s + "\n")): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    out(help());
    return name ? EXIT_OK : EXIT_USAGE;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    err(`xbpf: unknown command '${name}'\n\n${help()}`);
    return EXIT_USAGE;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    out(`usage: ${cmd.usage}\n\n${cmd.summary}`);
    return EXIT_OK;
  }
  const json = rest.includes("--json");
  try {
    await cmd.run(rest, out);
    return EXIT_OK;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`xbpf ${cmd.name}: ${e.message}\nusage: ${cmd.usage}`);
      return EXIT_USAGE;
    }
    const report = errorReport(e);
    if (json) out(JSON.stringify({ error: report }, null, 2));
    else err(`xbpf ${cmd.name}: ${report.message}${report.log ? `\n\nverifier log:\n${report.log}` : ""}`);
    return EXIT_FAILURE;
  }
}
