// Types of tools/corpus/libbpf.mjs's exports (for the tests under tsc).
import type { TestLoader } from "@x/loader";

/** One harness call: its JSON lines. */
export function harness(path: string, ...argv: string[]): Record<string, unknown>[];
/** libbpf loading the tests of `object` through the harness at `path`. */
export function libbpfTestLoader(path: string, object: string): TestLoader;
