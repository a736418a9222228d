/**
 * `@x/btf`: BTF and BTF.ext parsing and encoding, DATASEC fix-up, global variable
 * listing, a typed value codec and C-like type printing. Pure: no I/O.
 *
 * @packageDocumentation
 */
export * from "./errors.js";
export * from "./types.js";
export * from "./layouts.js";
export * from "./strings.js";
export * from "./btf.js";
export * from "./encode.js";
export * from "./parse.js";
export * from "./ext.js";
export * from "./datasec.js";
export * from "./variables.js";
export * from "./value.js";
export * from "./format.js";
export * from "./sanitize.js";
export * from "./inplace.js";
export * from "./externs.js";
export * from "./compat.js";
export * from "./core/index.js";
export type { LazyBtfStats } from "./lazy.js";
