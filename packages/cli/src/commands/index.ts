import type { Command } from "../command.js";
import { inspect } from "./inspect.js";
import { load } from "./load.js";
import { patch } from "./patch.js";
import { probe } from "./probe.js";
import { run } from "./run.js";

/** Every subcommand, in help order. */
export const commands: readonly Command[] = [inspect, patch, load, run, probe];
