/** Options shared by the commands that load an object. */
import { readFileSync } from "node:fs";
import type { ObjectSpec } from "@x/loader/open";
import { splitAssignment, UsageError, type ParsedArgs } from "./args.js";

/** Apply every `--set NAME=VALUE` (NAME may be a dotted field path) to the spec. */
export function applySets(spec: ObjectSpec, args: ParsedArgs): void {
  for (const s of args.lists.get("set") ?? []) {
    const [name, value] = splitAssignment(s);
    spec.set(name, value, { text: true });
  }
}

/** `--data HEX` or `--data @FILE`: the test-run input. */
export function dataOption(args: ParsedArgs, name = "data"): Uint8Array | undefined {
  const v = args.values.get(name);
  if (v === undefined) return undefined;
  if (v.startsWith("@")) return new Uint8Array(readFileSync(v.slice(1)));
  const hex = v.replace(/\s+/g, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new UsageError(`--${name} expects hex bytes or @FILE`);
  return new Uint8Array(Buffer.from(hex, "hex"));
}
