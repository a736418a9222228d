// Types of tools/lskel/build.mjs's exports.

/** What the harness printed about one map or program of the light skeleton. */
export type LightSkeletonLine = Record<string, unknown>;

/** A light skeleton of one object, compiled into `dir`. */
export interface LightSkeleton {
  /** Loads it once and says what it created: a line per map (`map`) and per program (`prog`, xlated as hex). */
  describe(): LightSkeletonLine[];
  /** The median µs of `n` open_and_load + destroy. */
  time(n: number): number;
}

/** `bpftool gen skeleton -L object name name`, compiled with tools/lskel/harness.c against libbpf-dev. */
export function buildLightSkeleton(object: string, name: string, dir: string): LightSkeleton;
