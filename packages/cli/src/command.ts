/** A CLI subcommand's code. `out` prints one chunk of output; thrown errors become exit codes in main. */
export interface Command {
  readonly usage: string;
  run(argv: readonly string[], out: (text: string) => void): void | Promise<void>;
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
