/**
 * A CLI subcommand's code. `out` prints one chunk of output; thrown errors become exit codes in main.
 * A command that ran but found a failure to report (failing tests) returns its exit code.
 */
export interface Command {
  readonly usage: string;
  run(argv: readonly string[], out: (text: string) => void): void | number | Promise<void | number>;
}

/**
 * A subcommand as `xbpf --help` lists it. Its code is imported only when it runs, so a command
 * loads only what it needs: `inspect` and `patch` never load the kernel layer.
 */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  load(): Promise<Command>;
}
