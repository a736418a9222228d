export { main, EXIT_OK, EXIT_FAILURE, EXIT_USAGE } from "./main.js";
export { commands } from "./commands/index.js";
export type { Command, CommandEntry } from "./command.js";
