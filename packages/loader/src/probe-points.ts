/**
 * Probe points from what a program's section says (libbpf's conventions): `tracepoint/CAT/NAME`,
 * `kprobe/FUNC[+OFF]`, `kretprobe/FUNC`, `ksyscall/NAME`, `uprobe/PATH:FUNC[+OFF]`, and the options of
 * the `tracepoint`, `kprobe` and `uprobe` attach points.
 */
import { existsSync, readFileSync } from "node:fs";
import { type ErrorLocation, functionFileOffset } from "@x/elf";
import { ProgType } from "@x/sys";
import type { AttachableProgram } from "./attach.js";
import { AttachError } from "./errors.js";
import type { ProbeEvent } from "./perf-attachment.js";

type Kind = NonNullable<AttachableProgram["spec"]["kind"]>;

/** The kernel's syscall function for syscall `name` (libbpf `SEC("ksyscall/NAME")`): the arch wrapper where the kernel has one. */
function syscallFunction(name: string): string {
  const prefix = process.arch === "x64" ? "__x64_sys_" : process.arch === "arm64" ? "__arm64_sys_" : "sys_";
  return `${prefix}${name}`;
}

/** The options of the `uprobe` attach point. */
export type UprobeOptions = { path?: string; function?: string; offset?: number | bigint; retprobe?: boolean; pid?: number };

/** Where the dynamic linker looks for a library named without a path (its default directories). */
const LIBRARY_DIRS = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"];

/** The uprobe of a point and the program's section (`uprobe/PATH:FUNC[+OFF]`, `uretprobe/…`): the file and the offset in it. */
export function uprobeOf(kind: Kind, program: string, point: true | UprobeOptions, where: ErrorLocation): ProbeEvent {
  const u: UprobeOptions = point === true ? {} : point;
  const m = /^u(?:ret)?probe(?:\.s)?\/(.+?):([^:+]+)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(kind.section);
  const path = u.path ?? m?.[1];
  const fn = u.function ?? (u.offset === undefined ? m?.[2] : undefined);
  if (!path || (fn === undefined && u.offset === undefined)) {
    throw new AttachError("ATTACH_BAD_POINT", `uprobe program '${program}' (section ${kind.section}) names no file and function: give uprobe: { path, function } or { path, offset }`, where);
  }
  const file = path.includes("/") ? path : LIBRARY_DIRS.map((d) => `${d}/${path}`).find((f) => existsSync(f));
  if (!file) throw new AttachError("ATTACH_BAD_POINT", `no library ${path} in ${LIBRARY_DIRS.join(", ")}: give its path`, where);
  let offset = BigInt(u.offset ?? (m?.[3] ? BigInt(m[3]) : 0n));
  if (fn !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(file));
    } catch (e) {
      throw new AttachError("ATTACH_BAD_POINT", `cannot read ${file} for uprobe '${fn}': ${(e as Error).message}`, where, { cause: e });
    }
    try {
      offset += functionFileOffset(bytes, fn, file);
    } catch (e) {
      throw new AttachError("ATTACH_BAD_POINT", (e as Error).message, where, { cause: e });
    }
  }
  const retprobe = u.retprobe ?? kind.section.startsWith("uretprobe");
  return { kind: "uprobe", path: file, offset, retprobe, ...(u.pid === undefined ? {} : { pid: u.pid }) };
}

/** The probe a tracepoint or kprobe program's section names (`tracepoint/CAT/NAME`, `kprobe/FUNC+OFF`…), for `tracing: true`. */
export function probeOfSection(kind: Kind, program: string, where: ErrorLocation, point?: Record<string, unknown>): ProbeEvent {
  const [prefix, ...rest] = kind.section.split("/");
  if (kind.progType === ProgType.TRACEPOINT) {
    const given = point?.tracepoint;
    const [category, name] = typeof given === "string" ? given.split("/") : rest;
    if (!category || !name) throw new AttachError("ATTACH_BAD_POINT", `tracepoint program '${program}' (section ${kind.section}) names no tracepoint: give tracepoint: "CATEGORY/NAME"`, where);
    return { kind: "tracepoint", category, name };
  }
  const k = (point?.kprobe && point.kprobe !== true ? point.kprobe : {}) as { function?: string; offset?: number | bigint; retprobe?: boolean };
  const target = rest.join("/");
  const m = /^([^+]+)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(target);
  const syscall = prefix === "ksyscall" || prefix === "kretsyscall";
  const fn = k.function ?? (m ? (syscall ? syscallFunction(m[1]!) : m[1]) : undefined);
  if (!fn || prefix?.startsWith("uprobe") || prefix?.startsWith("uretprobe") || prefix === "usdt") {
    throw new AttachError("ATTACH_BAD_POINT", `kprobe program '${program}' (section ${kind.section}) names no kernel function${prefix?.startsWith("u") ? ": a uprobe program attaches with uprobe: { path, offset }" : ": give kprobe: { function }"}`, where);
  }
  return { kind: "kprobe", function: fn, offset: BigInt(k.offset ?? (m?.[2] ? BigInt(m[2]) : 0n)), retprobe: k.retprobe ?? (prefix === "kretprobe" || prefix === "kretsyscall") };
}

