/**
 * xbpf: inspect, patch, load and run BPF objects.
 * Exit codes: 0 success, 1 the operation failed, 2 bad command line.
 */
import { UsageError } from "./args.js";
import type { Command } from "./command.js";
import { commands } from "./commands/index.js";
import { errorReport, errorText } from "./errors.js";
import { stderrLine, stdoutLine } from "./stdio.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return ["usage: xbpf COMMAND [ARGS] [--json]", "", "commands:", ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`), "", "xbpf COMMAND --help shows a command's usage."].join("\n");
}

/** Run the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: readonly string[], out = stdoutLine, err = stderrLine): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    out(help());
    return name ? EXIT_OK : EXIT_USAGE;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    err(`xbpf: unknown command '${name}'\n\n${help()}`);
    return EXIT_USAGE;
  }
  const json = rest.includes("--json");
  let command: Command | undefined;
  try {
    command = await entry.load();
    if (rest.includes("--help") || rest.includes("-h")) {
      out(`usage: ${command.usage}\n\n${entry.summary}`);
      return EXIT_OK;
    }
    return (await command.run(rest, out)) ?? EXIT_OK;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`xbpf ${entry.name}: ${e.message}\nusage: ${command?.usage ?? entry.name}`);
      return EXIT_USAGE;
    }
    // Code, message, location and the kernel's answer; never a stack trace.
    const report = errorReport(e);
    if (json) out(JSON.stringify({ error: report }, null, 2));
    else err(`xbpf ${entry.name}: ${errorText(report)}`);
    return EXIT_FAILURE;
  }
}
