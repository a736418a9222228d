/** Object and internal-map naming, as libbpf does it, so maps show up under the same names in bpftool. */
import { BPF_OBJ_NAME_LEN } from "@x/sys/abi";

/** An object's name from its path: the file's basename cut at the first `.` (libbpf `bpf_object__new`). */
export function objectNameFromPath(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.indexOf(".");
  return dot < 0 ? base : base.slice(0, dot);
}

/**
 * The kernel name of the internal map for a data section (libbpf `internal_map_name`):
 * `<object prefix><section>` in 15 characters, the section keeping at least 7 of them;
 * sections with a second dot (`.rodata.str1.1`, `.data.custom`) get no prefix;
 * characters the kernel refuses become `_`.
 */
export function internalMapName(objectName: string, section: string): string {
  const sfxLen = Math.max(7, section.length);
  const pfxLen = section.indexOf(".", 1) >= 0 ? 0 : Math.max(0, Math.min(BPF_OBJ_NAME_LEN - sfxLen - 1, objectName.length));
  const name = (objectName.slice(0, pfxLen) + section.slice(0, sfxLen)).slice(0, BPF_OBJ_NAME_LEN - 1);
  return name.replace(/[^A-Za-z0-9_.]/g, "_");
}

/** Truncate a program or map name to what the kernel accepts, replacing characters it refuses. */
export function kernelObjectName(name: string): string {
  return name.slice(0, BPF_OBJ_NAME_LEN - 1).replace(/[^A-Za-z0-9_.]/g, "_");
}
