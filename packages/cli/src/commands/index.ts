import type { Command } from "../command.js";
import { inspect } from "./inspect.js";
import { patch } from "./patch.js";

/** Every subcommand, in help order. */
export const commands: readonly Command[] = [inspect, patch];
