/**
 * Turning any error into what the CLI prints: the stable code, the message, where it is (the
 * error's structured location), the kernel's answer when there is one, and the verifier log.
 * Never a stack trace.
 */
import { ERROR_LOCATION_KEYS, type ErrorLocation, isXError } from "@x/elf";

/** A printable error: what `--json` prints under `"error"`. */
export interface ErrorReport {
  /** Stable code (`ELF_TRUNCATED`, `OBJECT_NO_SUCH_VARIABLE`, `LOAD_PROGRAM`…), or the error's name for foreign errors. */
  code: string;
  message: string;
  /** Where: object, section, offset, program, map, variable, symbol, insnIndex, btfTypeId, btfKind (only those known). */
  location: ErrorLocation;
  /** The bpf command, errno and its name, for kernel refusals. */
  command?: string;
  errno?: number;
  errnoName?: string;
  /** The verifier (or BTF) log. */
  log?: string;
  /** For a feature the kernel lacks: its name and the Linux version that introduced it. */
  feature?: string;
  minKernel?: string;
}

/** Details (not locations) an error may carry, copied into the report when set. */
const DETAILS = ["command", "errno", "errnoName", "log", "feature", "minKernel"] as const;

/** Describe an error from any @x package (every one is an `XError`: a stable code and a location). */
export function errorReport(e: unknown): ErrorReport {
  if (!(e instanceof Error)) return { code: "UNKNOWN", message: String(e), location: {} };
  if (!isXError(e)) {
    // Node's own errors (a missing file: ENOENT) have a string code too.
    const code = (e as Error & { code?: unknown }).code;
    return { code: typeof code === "string" ? code : e.name, message: e.message, location: {} };
  }
  const report: ErrorReport = { code: e.code, message: e.message, location: { ...e.location } };
  const from = e as unknown as Record<string, unknown>;
  const to = report as unknown as Record<string, unknown>;
  for (const key of DETAILS) {
    const v = from[key];
    if (v !== undefined && v !== "") to[key] = v;
  }
  return report;
}

/**
 * The location as a compact line (`object example, program classify, insn 12`), keeping only
 * what `message` does not already say; undefined when that leaves nothing.
 */
export function locationLine(location: ErrorLocation, message: string): string | undefined {
  const parts: string[] = [];
  for (const key of ERROR_LOCATION_KEYS) {
    const v = location[key];
    if (v === undefined) continue;
    switch (key) {
      case "offset":
        if (!mentions(message, hex(v as number)) && !mentionsNumber(message, v as number, ["offset", "at"])) parts.push(`offset ${hex(v as number)}`);
        break;
      case "insnIndex":
        if (!new RegExp(`insns?\\s*(\\[|#)?\\s*${v}\\b`).test(message)) parts.push(`insn ${v}`);
        break;
      case "btfTypeId": {
        const kind = location.btfKind !== undefined && !mentions(message, location.btfKind) ? ` ${location.btfKind}` : "";
        if (!message.includes(`[${v}]`) && !mentionsNumber(message, v as number, ["type id", "type"])) parts.push(`BTF type [${v}]${kind}`);
        else if (kind) parts.push(`BTF kind${kind}`);
        break;
      }
      case "btfKind":
        if (location.btfTypeId === undefined && !mentions(message, v as string)) parts.push(`BTF kind ${v}`);
        break;
      default:
        if (!mentions(message, String(v))) parts.push(`${key} ${v}`);
    }
  }
  return parts.length ? parts.join(", ") : undefined;
}

/**
 * The text the CLI prints for a failed command (without the `xbpf CMD: ` prefix): the message, the
 * `at:` line under its first line, and the verifier log. (A kernel refusal's message goes on with the
 * end of the log; printed in full below it, that end is not repeated.)
 */
export function errorText(report: ErrorReport): string {
  const nl = report.message.indexOf("\n");
  const [first, rest] = nl < 0 ? [report.message, ""] : [report.message.slice(0, nl), report.message.slice(nl)];
  const at = locationLine(report.location, first);
  return `${first}${at ? `\nat: ${at}` : ""}${report.log ? `\n\nverifier log:\n${report.log}` : rest}`;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Whether `text` names `value` as a whole word (`.rodata` is not mentioned by `globals.rodata`, nor `reject` by `reject.bpf.c`). */
function mentions(text: string, value: string): boolean {
  const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![\\w.])${escaped}(?!\\w|\\.\\w)`).test(text);
}

/** Whether `text` says `n` right after one of `words` (`offset 12`, `type id 7`). */
function mentionsNumber(text: string, n: number, words: readonly string[]): boolean {
  return words.some((w) => new RegExp(`\\b${w} ${n}\\b`).test(text));
}
