/** A CLI subcommand. `out` prints one chunk of output; thrown errors become exit codes in main. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(argv: readonly string[], out: (text: string) => void): void | Promise<void>;
}
