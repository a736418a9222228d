/**
 * Resolve externs (libbpf `bpf_object__resolve_externs`): kconfig values from the values given
 * before load, libbpf's virtual `LINUX_*` ones and the kernel's configuration; typeless ksyms from
 * kallsyms; typed ksyms and kfuncs from the kernel's BTF, vmlinux first, then each module's, with
 * their types checked against the object's. What the kernel sources cannot give: zero for a weak
 * extern (a poisoned call for a weak kfunc), an error naming the extern for a strong one.
 */
import { type Btf, type KconfigExtern, type KfuncExtern, type KsymExtern, typesAreCompatible } from "@x/btf";
import { FEATURES, UnsupportedFeatureError } from "@x/sys";
import { LoadError, ObjectError } from "../../errors.js";
import { parseKconfigLines, writeKconfigNumber, writeKconfigValue } from "../../kconfig.js";
import type { KernelBtfTypes, KernelFd } from "../kernel.js";
import type { Phase } from "../phase.js";
import type { LoadState } from "../state.js";

/** libbpf: `insn->off` holds the fd_array index, a signed 16-bit number. */
const MAX_FD_ARRAY = 0x7fff;

export const externs: Phase = {
  name: "resolve externs",
  run(s) {
    if (!s.spec.externs.length) return;
    const kconfig = s.spec.externs.filter((e): e is KconfigExtern => e.kind === "kconfig");
    if (kconfig.length) s.kconfigImage = resolveKconfig(s, kconfig);
    const kernelBtf = new KernelBtfSearch(s);
    for (const e of s.spec.externs) {
      if (e.kind === "ksym" && e.typeId === 0) resolveTypeless(s, e);
      else if (e.kind === "ksym") resolveTypedKsym(s, e, kernelBtf);
      else if (e.kind === "kfunc") resolveKfunc(s, e, kernelBtf);
    }
  },
};

function unresolved(s: LoadState, name: string, why: string): ObjectError {
  return new ObjectError("OBJECT_UNRESOLVED_EXTERN", `extern '${name}' (strong): ${why}; declare it __weak to load without it`, { object: s.spec.name, symbol: name });
}

function resolveKconfig(s: LoadState, kconfig: readonly KconfigExtern[]): Uint8Array {
  const { spec, kernel } = s;
  const size = spec.maps.find((m) => m.origin === "kconfig")?.valueSize ?? 0;
  const image = new Uint8Array(size);
  const fromFile: KconfigExtern[] = [];
  for (const e of kconfig) {
    const given = spec.kconfigOverrides.get(e.name);
    if (given !== undefined) {
      writeKconfigValue(e, given, image, spec.name);
      s.externs.set(e.name, { kind: "kconfig", set: true });
      continue;
    }
    if (e.name.startsWith("CONFIG_")) {
      fromFile.push(e);
      continue;
    }
    const virtual = virtualValue(s, e);
    if (virtual === undefined) {
      if (!e.name.startsWith("LINUX_") || !e.weak) {
        throw new ObjectError("OBJECT_UNRESOLVED_EXTERN", `extern (kcfg) '${e.name}': unrecognized virtual extern (libbpf knows LINUX_KERNEL_VERSION, LINUX_HAS_BPF_COOKIE and LINUX_HAS_SYSCALL_WRAPPER; other LINUX_ ones must be __weak)`, { object: spec.name, symbol: e.name });
      }
      s.externs.set(e.name, { kind: "kconfig", set: false });
      continue;
    }
    writeKconfigNumber(e, virtual, image, spec.name);
    s.externs.set(e.name, { kind: "kconfig", set: true });
  }
  if (fromFile.length) {
    let config: Map<string, string> | undefined;
    let unreadable: string | undefined;
    try {
      const { path, text } = kernel.symbols.config();
      config = parseKconfigLines(text, path, spec.name);
    } catch (e) {
      unreadable = (e as Error).message;
    }
    for (const e of fromFile) {
      const value = config?.get(e.name);
      if (value !== undefined) {
        writeKconfigValue(e, value, image, spec.name);
        s.externs.set(e.name, { kind: "kconfig", set: true });
      } else if (e.weak) {
        // Doing better than libbpf here: it fails the load when the config cannot be read at all.
        if (unreadable) s.settings.warn(`extern (kcfg) '${e.name}' (weak) is 0: ${unreadable}`);
        s.externs.set(e.name, { kind: "kconfig", set: false });
      } else {
        throw unresolved(s, e.name, unreadable ?? "the running kernel's configuration does not set it");
      }
    }
  }
  return image;
}

/** libbpf's virtual kconfig externs. */
function virtualValue(s: LoadState, e: KconfigExtern): bigint | undefined {
  switch (e.name) {
    case "LINUX_KERNEL_VERSION": {
      const v = s.kernel.symbols.linuxKernelVersion();
      if (!v) throw new ObjectError("OBJECT_UNRESOLVED_EXTERN", `extern (kcfg) '${e.name}': cannot tell the kernel's version`, { object: s.spec.name, symbol: e.name });
      return BigInt(v);
    }
    case "LINUX_HAS_BPF_COOKIE":
      return s.features.probe("bpf_cookie") ? 1n : 0n;
    case "LINUX_HAS_SYSCALL_WRAPPER":
      // libbpf asks a kprobe whether __<arch>_sys_bpf exists; kallsyms answers the same question
      // without kprobes (and on kernels built without them, where libbpf's probe says 0).
      return s.kernel.symbols.kallsyms(SYSCALL_WRAPPER[process.arch] ?? "__x64_sys_bpf") !== undefined ? 1n : 0n;
    default:
      return undefined;
  }
}

/** The syscall wrapper of bpf(2) per architecture (libbpf `arch_specific_syscall_pfx`). */
const SYSCALL_WRAPPER: Partial<Record<string, string>> = { x64: "__x64_sys_bpf", arm64: "__arm64_sys_bpf", s390x: "__s390x_sys_bpf", riscv64: "__riscv_sys_bpf" };

function resolveTypeless(s: LoadState, e: KsymExtern): void {
  const address = s.kernel.symbols.kallsyms(e.name);
  if (address === undefined && !e.weak) throw unresolved(s, e.name, "not found in /proc/kallsyms");
  s.externs.set(e.name, { kind: "address", address: address ?? 0n });
}

/**
 * The kernel's BTF objects, searched in order: walked at most once per load (the module walk takes a
 * few syscalls per BTF object), and only as far as a search needs; module BTF fds opened once per
 * load, when needed.
 */
class KernelBtfSearch {
  readonly #fds = new Map<number, KernelFd>();
  readonly #seen: KernelBtfTypes[] = [];
  #rest: Iterator<KernelBtfTypes> | undefined;
  constructor(private readonly s: LoadState) {}

  find(name: string, kind: "VAR" | "FUNC"): { obj: KernelBtfTypes; id: number } | undefined {
    for (const obj of this.#objects()) {
      const id = obj.find(name, kind);
      if (id !== undefined) return { obj, id };
    }
    return undefined;
  }

  *#objects(): Generator<KernelBtfTypes> {
    yield* this.#seen;
    this.#rest ??= this.s.kernel.symbols.btfObjects()[Symbol.iterator]();
    for (let r = this.#rest.next(); !r.done; r = this.#rest.next()) {
      this.#seen.push(r.value);
      yield r.value;
    }
  }

  fd(obj: KernelBtfTypes): KernelFd {
    let fd = this.#fds.get(obj.id);
    if (!fd) this.#fds.set(obj.id, (fd = this.s.own(this.s.kernel.symbols.openBtf(obj.id))));
    return fd;
  }
}

/** The type a VAR or FUNC refers to, with modifiers and typedefs skipped (libbpf `skip_mods_and_typedefs`). */
function targetType(btf: Btf, id: number): number {
  return btf.resolve((btf.type(id) as { type: number }).type);
}

function resolveTypedKsym(s: LoadState, e: KsymExtern, search: KernelBtfSearch): void {
  const found = search.find(e.name, "VAR");
  if (!found) {
    if (!e.weak) throw unresolved(s, e.name, "no such variable in the kernel's BTF (vmlinux or a module's)");
    s.externs.set(e.name, { kind: "missing" });
    return;
  }
  const target = targetType(found.obj.btf, found.id);
  const compat = typesAreCompatible(s.spec.btf!, e.typeId, found.obj.btf, target);
  if (compat !== true) {
    throw new ObjectError("OBJECT_UNRESOLVED_EXTERN", `extern (var ksym) '${e.name}': incompatible types: ${compat}`, { object: s.spec.name, symbol: e.name, btfTypeId: e.typeId });
  }
  const module = found.obj.id ? { name: found.obj.name, fd: search.fd(found.obj), fdIndex: 0 } : undefined;
  s.externs.set(e.name, { kind: "btf", btfId: found.id, module });
}

function resolveKfunc(s: LoadState, e: KfuncExtern, search: KernelBtfSearch): void {
  const found = search.find(e.essentialName, "FUNC");
  const compat = found && typesAreCompatible(s.spec.btf!, e.typeId, found.obj.btf, (found.obj.btf.type(found.id) as { type: number }).type);
  if (!found || compat !== true) {
    // libbpf: a weak kfunc whose prototype does not match counts as missing, like an absent one.
    if (e.weak) {
      s.externs.set(e.name, { kind: "missing" });
      return;
    }
    if (!found) throw unresolved(s, e.name, "no such kfunc in the kernel's BTF (vmlinux or a module's)");
    throw new ObjectError("OBJECT_UNRESOLVED_EXTERN", `extern (func ksym) '${e.name}': its prototype does not match ${found.obj.name}'s: ${compat}`, { object: s.spec.name, symbol: e.name, btfTypeId: e.typeId });
  }
  if (!found.obj.id) {
    s.externs.set(e.name, { kind: "btf", btfId: found.id });
    return;
  }
  // A kfunc in a module: its BTF goes into fd_array, and the call names it by index.
  if (!s.features.probe("fd_array")) {
    throw new UnsupportedFeatureError("fd_array", FEATURES.fd_array.minKernel, `kfunc '${e.name}' is in module ${found.obj.name}, and calling kfuncs of modules needs fd_array (Linux 5.18)`);
  }
  const fd = search.fd(found.obj);
  let fdIndex = s.fdArray.indexOf(fd) + 1;
  if (!fdIndex) {
    if (s.fdArray.length + 1 >= MAX_FD_ARRAY) throw new LoadError("LOAD_PROGRAM", `extern (func ksym) '${e.name}': module BTF fd index ${s.fdArray.length + 1} too big to fit in bpf_insn offset`, { object: s.spec.name, symbol: e.name });
    s.fdArray.push(fd);
    fdIndex = s.fdArray.length;
  }
  s.externs.set(e.name, { kind: "btf", btfId: found.id, module: { name: found.obj.name, fd, fdIndex } });
}
