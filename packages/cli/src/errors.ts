/** Turning any error into what the CLI prints: message, stable code, and the kernel's log when there is one. */

/** A printable error. */
export interface ErrorReport {
  code: string;
  message: string;
  log?: string;
  [detail: string]: unknown;
}

/** Describe an error from any @x package (they all carry a stable `code`). */
export function errorReport(e: unknown): ErrorReport {
  if (!(e instanceof Error)) return { code: "UNKNOWN", message: String(e) };
  const any = e as Error & Record<string, unknown>;
  const report: ErrorReport = { code: typeof any.code === "string" ? any.code : e.name, message: e.message };
  for (const key of ["command", "errno", "errnoName", "program", "section", "map", "variable", "insnIndex", "offset", "typeId", "feature", "minKernel"]) {
    if (any[key] !== undefined) report[key] = any[key];
  }
  if (typeof any.log === "string" && any.log) report.log = any.log;
  return report;
}
