/**
 * Package-internal hooks between modules (not exported from the package).
 *
 * @internal
 * @packageDocumentation
 */
import type { Btf } from "./btf.js";
import type { LazyTypes } from "./lazy.js";

/** Filled in by {@link Btf}'s static initialiser. */
export const btfInternals: {
  /** Make `btf` (just constructed, with no types of its own) serve its own types from `lazy`. */
  attachLazy?: (btf: Btf, lazy: LazyTypes) => Btf;
} = {};
