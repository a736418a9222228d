/**
 * The running kernel's symbols from `/proc/kallsyms`, parsed at most once per process, for
 * untyped ksym externs (`extern const void sym __ksym;`) and whatever else needs a kernel
 * address by name.
 *
 * Semantics are libbpf's (`libbpf_kallsyms_parse` + `kallsyms_cb`, libbpf 1.5 / Linux 6.12):
 *
 * - a line is `ADDRESS TYPE NAME`, optionally followed by `[MODULE]` (libbpf's
 *   `fscanf("%llx %c %499s%*[^\n]\n")`): blank lines are skipped, any other line that is not of
 *   that form fails the whole parse (libbpf: `-EINVAL`);
 * - module symbols count like vmlinux ones: libbpf skips the `[MODULE]` column, so a name is
 *   looked up across vmlinux and every module (and the kernel's pseudo-modules such as `[bpf]`
 *   and `[__builtin__ftrace]`). The module is kept here for callers that care;
 * - duplicate names: several lines with the same name and the same address are one symbol; with
 *   different addresses the name is ambiguous, and resolving it is an error (libbpf: "extern
 *   (ksym) 'x': resolution is ambiguous: 0x… or 0x…"), not the first or last one listed;
 * - a local data symbol (`d`) renamed by LTO, `name.llvm.<hash>`, also answers to `name` (libbpf
 *   matches only the part before `.llvm.` for type `d`).
 *
 * One addition: when the kernel hides addresses from this process (`kernel.kptr_restrict`, no
 * `CAP_SYSLOG`), every address reads as 0. libbpf would resolve externs to 0; here the cached
 * table refuses to fill ({@link KallsymsError} `KALLSYMS_HIDDEN`), so no caller mistakes 0 for
 * an address.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { KallsymsError } from "../errors.js";
import { ProcessCache } from "./cache.js";

/** Where the running kernel lists its symbols. */
export const KALLSYMS_PATH = "/proc/kallsyms";

/** One line of `/proc/kallsyms`. */
export interface KallsymsSymbol {
  /** The name as listed (an LTO `name.llvm.<hash>` keeps its suffix here). */
  readonly name: string;
  /** The address (0 when the kernel hides addresses). */
  readonly address: bigint;
  /** The `nm`-style type letter: `T`/`t` text, `D`/`d` data, `B`/`b` bss, `R`/`r` read-only, `W`, `A`… */
  readonly type: string;
  /** The module, without brackets (`virtio_rng`, or a pseudo-module: `bpf`, `__builtin__ftrace`); undefined for vmlinux. */
  readonly module?: string;
}

/** The fields of one line, as offsets into the text (filled by {@link scanLine}; one scratch record, as parsing is synchronous). */
const at = { addr: 0, addrEnd: 0, type: 0, name: 0, nameEnd: 0, mod: -1, modEnd: -1 };

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0b || c === 0x0c;
const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);

/**
 * Split `text[i, end)` into `ADDRESS TYPE NAME [MODULE]` (into {@link at}): true when it is such a
 * line, false when it is not, "blank" for whitespace only.
 */
function scanLine(text: string, i: number, end: number): boolean | "blank" {
  while (i < end && isSpace(text.charCodeAt(i))) i++;
  if (i === end) return "blank";
  at.addr = i;
  while (i < end && isHex(text.charCodeAt(i))) i++;
  at.addrEnd = i;
  if (i === at.addr || i === end || !isSpace(text.charCodeAt(i))) return false;
  while (i < end && isSpace(text.charCodeAt(i))) i++;
  at.type = i++;
  if (i >= end || !isSpace(text.charCodeAt(i))) return false;
  while (i < end && isSpace(text.charCodeAt(i))) i++;
  at.name = i;
  while (i < end && !isSpace(text.charCodeAt(i))) i++;
  at.nameEnd = i;
  if (at.nameEnd === at.name) return false;
  while (i < end && isSpace(text.charCodeAt(i))) i++;
  at.mod = at.modEnd = -1;
  if (i < end && text.charCodeAt(i) === 0x5b /* [ */) {
    const close = text.indexOf("]", i);
    if (close > i && close < end) {
      at.mod = i + 1;
      at.modEnd = close;
    }
  }
  return true;
}

const LLVM_SUFFIX = ".llvm.";

/**
 * A parsed `/proc/kallsyms`: symbols by name ({@link parseKallsyms}). The text is checked line by
 * line when parsed, but not indexed: a name is found by searching the text (a few milliseconds
 * for the 5 MB of a distribution kernel) and remembered, since a load asks for a handful of names
 * while an index of every name costs about 100 ms to build.
 */
export class Kallsyms {
  readonly #text: string;
  /** Name → offsets of its lines, for the names asked for so far. */
  readonly #found = new Map<string, number[]>();

  /** Where the text came from. */
  readonly path: string;
  /** How many symbols (lines) were listed. */
  readonly count: number;
  /** Whether every address is 0: the kernel hides them from this process (see {@link hiddenAddressesError}). */
  readonly addressesHidden: boolean;

  private constructor(path: string, text: string, count: number, addressesHidden: boolean) {
    this.path = path;
    this.#text = text;
    this.count = count;
    this.addressesHidden = addressesHidden;
  }

  /** {@link parseKallsyms}. */
  static parse(text: string, path: string = KALLSYMS_PATH): Kallsyms {
    let count = 0;
    let anyNonZero = false;
    let start = 0;
    for (let lineNo = 1; start < text.length; lineNo++) {
      let end = text.indexOf("\n", start);
      if (end < 0) end = text.length;
      const ok = scanLine(text, start, end);
      if (ok === false) {
        throw new KallsymsError(
          "KALLSYMS_MALFORMED",
          `${path}:${lineNo}: not "ADDRESS TYPE NAME [MODULE]": ${JSON.stringify(text.slice(start, Math.min(end, start + 120)))}`,
          { path, line: lineNo },
        );
      }
      if (ok === true) {
        count++;
        if (!anyNonZero) for (let i = at.addr; i < at.addrEnd; i++) if (text.charCodeAt(i) !== 0x30) anyNonZero = true;
      }
      start = end + 1;
    }
    return new Kallsyms(path, text, count, count > 0 && !anyNonZero);
  }

  /** Offsets of the lines listed under `name` (its own, and `name.llvm.<hash>` of type `d`), in file order. */
  #lines(name: string): number[] {
    const hit = this.#found.get(name);
    if (hit) return hit;
    const text = this.#text;
    const out: number[] = [];
    if (name !== "" && !/\s/.test(name)) {
      for (let i = text.indexOf(name); i >= 0; i = text.indexOf(name, i + 1)) {
        const after = i + name.length;
        const c = after < text.length ? text.charCodeAt(after) : 0x0a;
        const whole = isSpace(c) || c === 0x0a;
        const llvm = !whole && text.startsWith(LLVM_SUFFIX, after);
        if (!whole && !llvm) continue;
        const start = text.lastIndexOf("\n", i) + 1;
        let end = text.indexOf("\n", i);
        if (end < 0) end = text.length;
        if (scanLine(text, start, end) !== true || at.name !== i) continue;
        if (llvm && text.charCodeAt(at.type) !== 0x64 /* d */) continue;
        out.push(start);
        i = end; // one match per line
      }
    }
    this.#found.set(name, out);
    return out;
  }

  #symbol(line: number): KallsymsSymbol {
    const text = this.#text;
    let end = text.indexOf("\n", line);
    if (end < 0) end = text.length;
    scanLine(text, line, end);
    const s = { name: text.slice(at.name, at.nameEnd), address: BigInt(`0x${text.slice(at.addr, at.addrEnd)}`), type: text[at.type]! };
    return at.mod < 0 ? s : { ...s, module: text.slice(at.mod, at.modEnd) };
  }

  /**
   * Every line listed under `name` (libbpf's lookup name: for a `d` symbol `name.llvm.<hash>`,
   * also `name`), in file order; empty when there is none. Addresses are as listed, so all 0 when
   * {@link addressesHidden}.
   */
  lookup(name: string): KallsymsSymbol[] {
    return this.#lines(name).map((l) => this.#symbol(l));
  }

  /** Whether any line is listed under `name` (answerable even when addresses are hidden). */
  has(name: string): boolean {
    return this.#lines(name).length > 0;
  }

  /**
   * The address of `name` as libbpf resolves an untyped ksym: undefined when no line has that
   * name; the address when every line with it agrees.
   * @throws {@link KallsymsError} `KALLSYMS_HIDDEN` when addresses are hidden, `KALLSYMS_AMBIGUOUS`
   *   when lines with that name have different addresses.
   */
  address(name: string): bigint | undefined {
    if (this.addressesHidden) throw hiddenAddressesError(this.path);
    const found = this.lookup(name);
    if (found.length === 0) return undefined;
    const distinct = [...new Set(found.map((e) => e.address))];
    if (distinct.length === 1) return distinct[0];
    const addresses = distinct.map((a) => `0x${a.toString(16)}`);
    const where = found.map((e) => `${e.name} ${e.type} 0x${e.address.toString(16)}${e.module ? ` [${e.module}]` : ""}`).join(", ");
    throw new KallsymsError("KALLSYMS_AMBIGUOUS", `kernel symbol '${name}' is ambiguous in ${this.path}: ${where}`, { path: this.path, symbol: name, addresses });
  }
}

/**
 * Parse the text of `/proc/kallsyms` (pure: `path` is only for messages). Does not throw for
 * hidden addresses (see {@link Kallsyms.addressesHidden}); {@link Kallsyms.address} does.
 * @throws {@link KallsymsError} `KALLSYMS_MALFORMED` on a line that is not `ADDRESS TYPE NAME [MODULE]`.
 */
export function parseKallsyms(text: string, path: string = KALLSYMS_PATH): Kallsyms {
  return Kallsyms.parse(text, path);
}

function readKptrRestrict(): string | undefined {
  try {
    return readFileSync("/proc/sys/kernel/kptr_restrict", "utf8").trim();
  } catch {
    return undefined;
  }
}

/** The error for a `/proc/kallsyms` whose addresses all read 0. */
export function hiddenAddressesError(path: string = KALLSYMS_PATH): KallsymsError {
  const k = path === KALLSYMS_PATH ? readKptrRestrict() : undefined;
  return new KallsymsError(
    "KALLSYMS_HIDDEN",
    `${path} lists every address as 0: the kernel hides kernel addresses from this process` +
      `${k === undefined ? "" : ` (kernel.kptr_restrict=${k})`}; reading them needs CAP_SYSLOG with kptr_restrict ≤ 1` +
      ` (or kptr_restrict=0 and kernel.perf_event_paranoid ≤ 1)`,
    { path },
  );
}

function readKallsyms(): Kallsyms {
  let text: string;
  try {
    text = readFileSync(KALLSYMS_PATH, "utf8");
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const errno = typeof code === "string" ? code : undefined;
    const why = errno === "ENOENT" ? " (a kernel without CONFIG_KALLSYMS, or no /proc)" : "";
    throw new KallsymsError("KALLSYMS_UNREADABLE", `cannot read ${KALLSYMS_PATH}: ${(e as Error).message}${why}`, { path: KALLSYMS_PATH, errno }, { cause: e });
  }
  const table = parseKallsyms(text, KALLSYMS_PATH);
  if (table.addressesHidden) throw hiddenAddressesError(KALLSYMS_PATH);
  return table;
}

/**
 * The process-wide cache of `/proc/kallsyms`, parsed on first use. A failure (unreadable,
 * malformed, addresses hidden) is not cached.
 */
export const kallsymsCache: ProcessCache<Kallsyms> = new ProcessCache(KALLSYMS_PATH, readKallsyms);

/**
 * The running kernel's symbols, read and parsed once per process ({@link kallsymsCache}).
 * @throws {@link KallsymsError} `KALLSYMS_UNREADABLE`, `KALLSYMS_HIDDEN` or `KALLSYMS_MALFORMED`.
 */
export function kallsyms(): Kallsyms {
  return kallsymsCache.get();
}

/**
 * The address of kernel symbol `name` ({@link Kallsyms.address} on {@link kallsyms}): undefined
 * when the kernel has no such symbol.
 * @throws {@link KallsymsError} when the file cannot answer (`KALLSYMS_UNREADABLE`,
 *   `KALLSYMS_HIDDEN`, `KALLSYMS_MALFORMED`) or the name is ambiguous (`KALLSYMS_AMBIGUOUS`).
 */
export function kallsymsAddress(name: string): bigint | undefined {
  return kallsyms().address(name);
}
