/**
 * Test annotations of BPF programs, as the kernel's selftests write them (`progs/bpf_misc.h`) and
 * `test_loader.c` reads them: BTF decl tags `comment:test_…` on a program's FUNC. `__success` /
 * `__failure`, `__msg("…")` (in order; `{{…}}` parts are regular expressions), `__retval(N)`,
 * `__log_level(N)`, `__flag(BPF_F_…)`, `__description("…")`, `__auxiliary`, `__arch_*`, `__btf_path`,
 * and the `_unpriv` variants. Pure: BTF in, test specs out.
 */
import type { Btf } from "@x/btf";
import { ProgFlags } from "@x/sys/abi";

/** What a mode (privileged or not) of a program's test expects. */
export interface TestExpectation {
  /** The subtest's name: the description (or the program's name), with ` @unpriv` for the unprivileged mode. */
  readonly name: string;
  readonly expectFailure: boolean;
  /** `__msg` patterns, in order (each found after the previous one in the verifier log). */
  readonly messages: readonly TestPattern[];
  /** `__xlated` patterns: the translated program's disassembly, line after line unless `...` separates them. */
  readonly xlated: readonly TestPattern[];
  /** `__retval`: run it once with BPF_PROG_TEST_RUN and expect this (POINTER_VALUE: any). */
  readonly retval: number | undefined;
}

/** A `__msg` / `__xlated` pattern: literal text with `{{regex}}` parts. */
export interface TestPattern {
  readonly text: string;
  /** The pattern as a regular expression (literal parts escaped), when it has `{{…}}` parts. */
  readonly regex?: RegExp;
  /** For disassembly patterns: must match the line right after the previous match. */
  readonly onNextLine: boolean;
}

/** A program's test, from its annotations. */
export interface TestSpec {
  readonly program: string;
  /** Loaded with every test of the object (in the modes it is auxiliary for). */
  readonly auxiliary: { readonly priv: boolean; readonly unpriv: boolean };
  readonly priv?: TestExpectation;
  readonly unpriv?: TestExpectation;
  /** `__log_level`. */
  readonly logLevel: number;
  /** `__flag`s to set (`set`) and clear (`clear`, from `__flag(!X)`), on top of the runner's defaults. */
  readonly flags: { readonly set: number; readonly clear: number };
  /** `__arch_*`: the architectures it runs on (empty: every one). */
  readonly arch: readonly string[];
  /** `__btf_path`: the BTF CO-RE relocations use. */
  readonly btfPath?: string;
  /** A tag it has that this reader does not know (`__jited` is read, not checked), or a malformed one. */
  readonly problems: readonly string[];
}

/** test_loader's named `__retval` values. */
export const RETVAL_NAMES: Readonly<Record<string, number>> = { INT_MIN: -0x80000000, POINTER_VALUE: 0xcafe4a11, TEST_DATA_LEN: 64 };
/** `__retval(POINTER_VALUE)`: any value passes. */
export const POINTER_VALUE = 0xcafe4a11;

/** uapi `BPF_F_TEST_REG_INVARIANTS` (Linux 6.8): the verifier checks its register bounds' invariants. */
export const BPF_F_TEST_REG_INVARIANTS = 1 << 7;

const FLAG_NAMES: Readonly<Record<string, number>> = {
  BPF_F_STRICT_ALIGNMENT: ProgFlags.BPF_F_STRICT_ALIGNMENT,
  BPF_F_ANY_ALIGNMENT: ProgFlags.BPF_F_ANY_ALIGNMENT,
  BPF_F_TEST_RND_HI32: ProgFlags.BPF_F_TEST_RND_HI32,
  BPF_F_TEST_STATE_FREQ: ProgFlags.BPF_F_TEST_STATE_FREQ,
  BPF_F_SLEEPABLE: ProgFlags.BPF_F_SLEEPABLE,
  BPF_F_XDP_HAS_FRAGS: ProgFlags.BPF_F_XDP_HAS_FRAGS,
  BPF_F_TEST_REG_INVARIANTS,
};

/** `test_loader.c` `parse_int`: decimal, or hexadecimal after `0x`; undefined when it is neither. */
function parseInt32(text: string): number | undefined {
  const m = /^(-?)(?:0x([0-9a-fA-F]+)|(\d+))$/.exec(text);
  if (!m) return undefined;
  const n = m[2] !== undefined ? Number.parseInt(m[2], 16) : Number(m[3]);
  // strtol into an int: the low 32 bits, signed.
  return (m[1] ? -n : n) | 0;
}

/** A pattern of `__msg` or `__xlated`: `{{…}}` parts are POSIX extended regular expressions, the rest is literal. */
export function testPattern(text: string, onNextLine = false): TestPattern {
  if (!text.includes("{{")) return { text, onNextLine };
  let source = "";
  let rest = text;
  for (;;) {
    const open = rest.indexOf("{{");
    if (open < 0) {
      source += escapeLiteral(rest);
      break;
    }
    const close = rest.indexOf("}}", open + 2);
    if (close < 0) throw new Error(`Regexp has open '{{' but no closing '}}': '${text}'`);
    source += escapeLiteral(rest.slice(0, open)) + posixToJs(rest.slice(open + 2, close));
    rest = rest.slice(close + 2);
  }
  // REG_NEWLINE: `.` and negated classes stop at line ends; ^/$ match at each line.
  return { text, regex: new RegExp(source, "m"), onNextLine };
}

const escapeLiteral = (s: string) => s.replace(/[.[\]\\()*+?{}|^$]/g, "\\$&");

/** POSIX ERE character classes into JavaScript's (the rest of the syntax is shared); `.` stops at newlines in both. */
function posixToJs(re: string): string {
  return re
    .replace(/\[:digit:\]/g, "0-9").replace(/\[:space:\]/g, "\\s").replace(/\[:alpha:\]/g, "A-Za-z")
    .replace(/\[:alnum:\]/g, "A-Za-z0-9").replace(/\[:xdigit:\]/g, "0-9A-Fa-f").replace(/\[:upper:\]/g, "A-Z").replace(/\[:lower:\]/g, "a-z");
}

/** `<prefix><counter>=<value>`'s value (the counter makes repeated tags unique), or undefined. */
function dynamic(tag: string, prefix: string): string | undefined {
  if (!tag.startsWith(prefix)) return undefined;
  const eq = tag.indexOf("=", prefix.length);
  return eq < 0 ? undefined : tag.slice(eq + 1);
}

/**
 * The test of program `program` from its FUNC's decl tags, as `test_loader.c` `parse_test_spec` reads
 * them; undefined when it has no FUNC in the BTF. A program with no tags is a privileged test
 * expecting success (test_loader's default).
 */
export function programTestSpec(btf: Btf, program: string): TestSpec | undefined {
  const funcId = btf.idsByName(program).find((id) => btf.type(id).kind === "FUNC");
  if (funcId === undefined) return undefined;
  const tags: string[] = [];
  btf.types.forEach((t) => {
    if (t.kind === "DECL_TAG" && t.type === funcId && t.componentIdx === -1) tags.push(t.name);
  });
  return parseTags(program, tags);
}

/** Whether `btf` has any test annotation at all (an object worth running as a test). */
export function hasTestAnnotations(btf: Btf): boolean {
  return btf.types.some((t) => t.kind === "DECL_TAG" && t.name.startsWith("comment:test_"));
}

function parseTags(program: string, tags: readonly string[]): TestSpec {
  const problems: string[] = [];
  let description: string | undefined;
  let privMode = false, unprivMode = false;
  let privFailure = false, unprivFailure: boolean | undefined;
  let privRetval: number | undefined, unprivRetval: number | undefined;
  let hasUnprivRetval = false;
  const privMsgs: TestPattern[] = [], unprivMsgs: TestPattern[] = [];
  const privXlated: TestPattern[] = [], unprivXlated: TestPattern[] = [];
  let xNext = true, uxNext = true;
  let auxPriv = false, auxUnpriv = false;
  let logLevel = 0;
  let set = 0, clear = 0;
  const arch: string[] = [];
  let btfPath: string | undefined;
  const pattern = (text: string, into: TestPattern[], next = false) => {
    try {
      into.push(testPattern(text, next));
    } catch (e) {
      problems.push((e as Error).message);
    }
  };
  const disasm = (text: string, into: TestPattern[], next: boolean): boolean => {
    if (text === "...") return false;
    pattern(text, into, next);
    return true;
  };
  for (const s of tags) {
    let v: string | undefined;
    if (s.startsWith("comment:test_description=")) description = s.slice("comment:test_description=".length);
    else if (s === "comment:test_expect_failure") [privFailure, privMode] = [true, true];
    else if (s === "comment:test_expect_success") [privFailure, privMode] = [false, true];
    else if (s === "comment:test_expect_failure_unpriv") [unprivFailure, unprivMode] = [true, true];
    else if (s === "comment:test_expect_success_unpriv") [unprivFailure, unprivMode] = [false, true];
    else if (s === "comment:test_auxiliary") [auxPriv, privMode] = [true, true];
    else if (s === "comment:test_auxiliary_unpriv") [auxUnpriv, unprivMode] = [true, true];
    else if ((v = dynamic(s, "comment:test_expect_msg_unpriv=")) !== undefined) [unprivMode] = [(pattern(v, unprivMsgs), true)];
    else if ((v = dynamic(s, "comment:test_expect_msg=")) !== undefined) [privMode] = [(pattern(v, privMsgs), true)];
    else if ((v = dynamic(s, "comment:test_expect_xlated_unpriv=")) !== undefined) [uxNext, unprivMode] = [disasm(v, unprivXlated, uxNext), true];
    else if ((v = dynamic(s, "comment:test_expect_xlated=")) !== undefined) [xNext, privMode] = [disasm(v, privXlated, xNext), true];
    else if (s.startsWith("comment:test_jited")) continue; // JIT disassembly: not checked (as test_loader without LLVM)
    else if (s.startsWith("comment:test_retval_unpriv=") || s.startsWith("comment:test_retval=")) {
      const unpriv = s.startsWith("comment:test_retval_unpriv=");
      const text = s.slice(s.indexOf("=") + 1);
      const n = RETVAL_NAMES[text] ?? parseInt32(text);
      if (n === undefined) problems.push(`failed to parse __retval from '${text}'`);
      else if (unpriv) [unprivRetval, hasUnprivRetval, unprivMode] = [n, true, true];
      else [privRetval, privMode] = [n, true];
    } else if (s.startsWith("comment:test_log_level=")) {
      const n = parseInt32(s.slice("comment:test_log_level=".length));
      if (n === undefined) problems.push(`failed to parse test log level from '${s}'`);
      else logLevel = n;
    } else if (s.startsWith("comment:test_prog_flags=")) {
      let text = s.slice("comment:test_prog_flags=".length);
      const off = text.startsWith("!");
      if (off) text = text.slice(1);
      const n = FLAG_NAMES[text] ?? parseInt32(text);
      if (n === undefined) problems.push(`failed to parse test prog flags from '${text}'`);
      else if (off) [set, clear] = [set & ~n, clear | n];
      else [set, clear] = [set | n, clear & ~n];
    } else if (s.startsWith("comment:test_arch=")) arch.push(s.slice("comment:test_arch=".length));
    else if (s.startsWith("comment:test_btf_path=")) btfPath = s.slice("comment:test_btf_path=".length);
    else if (s.startsWith("comment:test_")) problems.push(`unknown annotation '${s}'`);
  }
  if (!privMode && !unprivMode) privMode = true;
  const name = description ?? program;
  const priv: TestExpectation | undefined = privMode ? { name, expectFailure: privFailure, messages: privMsgs, xlated: privXlated, retval: privRetval } : undefined;
  // test_loader: what the unprivileged mode does not say, it takes from the privileged one.
  const unpriv: TestExpectation | undefined = unprivMode ? {
    name: `${name} @unpriv`,
    expectFailure: unprivFailure ?? privFailure,
    messages: unprivMsgs.length ? unprivMsgs : privMsgs,
    xlated: unprivXlated.length ? unprivXlated : privXlated,
    retval: hasUnprivRetval ? unprivRetval : privRetval,
  } : undefined;
  return { program, auxiliary: { priv: auxPriv, unpriv: auxUnpriv }, priv, unpriv, logLevel, flags: { set, clear }, arch, btfPath, problems };
}
