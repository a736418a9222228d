/** Output helpers: aligned text tables and JSON that keeps 64-bit values exact. */

/** Render rows as an aligned table with a header. */
export function table(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [header, ...rows.map((r) => r.map(cell))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd())
    .join("\n");
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return "-";
  if (typeof v === "string") return v;
  return valueText(v);
}

/** Human text for a decoded value: numbers, bigints, strings quoted, objects and arrays compact. */
export function valueText(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint" || typeof v === "number" || typeof v === "boolean") return String(v);
  if (v instanceof Uint8Array) return hex(v);
  if (Array.isArray(v)) return `[${v.map(valueText).join(", ")}]`;
  if (v && typeof v === "object") return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${valueText(x)}`).join(", ")} }`;
  return String(v);
}

/** Lower-case hex of bytes. */
export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

/** JSON with bigints as numbers when exact, else as decimal strings, and bytes as hex strings. */
export function toJson(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x) => {
      if (typeof x === "bigint") return Number.isSafeInteger(Number(x)) ? Number(x) : x.toString();
      if (x instanceof Uint8Array) return hex(x);
      if (x instanceof Map) return Object.fromEntries(x);
      return x;
    },
    2,
  );
}
