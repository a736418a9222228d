/** A load phase: one named step of a load, reading and filling the load's state. */
import type { LoadState } from "./state.js";

/** One step of a load. Phases run in the order of the phase list; a throw abandons the load. */
export interface Phase {
  /** What the step is called in messages and traces. */
  readonly name: string;
  run(state: LoadState): void;
}
