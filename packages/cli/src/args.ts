/** A small argv parser: positionals, `--flag`, `--opt VALUE` / `--opt=VALUE`, repeatable options. */
import { XError } from "@x/elf";

/** Thrown for bad command lines; the CLI exits with status 2. */
export class UsageError extends XError<"USAGE"> {
  constructor(message: string) {
    super("USAGE", message);
  }
}

/** What a command accepts. */
export interface OptionSpec {
  /** Options that take no value. */
  readonly flags?: readonly string[];
  /** Options that take one value (last one wins). */
  readonly values?: readonly string[];
  /** Options that take a value and may repeat. */
  readonly lists?: readonly string[];
  /** Short aliases, e.g. `{ o: "output" }`. */
  readonly short?: Readonly<Record<string, string>>;
}

/** A parsed command line. */
export interface ParsedArgs {
  readonly positionals: string[];
  readonly flags: Set<string>;
  readonly values: Map<string, string>;
  readonly lists: Map<string, string[]>;
}

/** Parse `argv` (without the command name) against `spec`. */
export function parseArgs(argv: readonly string[], spec: OptionSpec): ParsedArgs {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const positionals: string[] = [];
  const kind = (name: string) =>
    spec.flags?.includes(name) ? "flag" : spec.values?.includes(name) ? "value" : spec.lists?.includes(name) ? "list" : undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
    } else if (a.startsWith("-") && a.length === 2 && spec.short?.[a[1]!]) {
      name = spec.short[a[1]!];
    } else {
      positionals.push(a);
      continue;
    }
    const k = kind(name!);
    if (!k) throw new UsageError(`unknown option ${a}`);
    if (k === "flag") {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
      flags.add(name!);
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined) throw new UsageError(`option --${name} needs a value`);
    if (k === "value") values.set(name!, v);
    else lists.set(name!, [...(lists.get(name!) ?? []), v]);
  }
  return { positionals, flags, values, lists };
}

/** Split `NAME=VALUE` (the value may contain `=`). */
export function splitAssignment(text: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UsageError(`expected NAME=VALUE, got "${text}"`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** Parse a non-negative integer option. */
export function intOption(args: ParsedArgs, name: string, fallback: number): number {
  const v = args.values.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name} expects a non-negative integer, got "${v}"`);
  return n;
}
