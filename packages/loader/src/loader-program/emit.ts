/**
 * The emitter: a recorded load (the calls of a {@link RecordingKernel} and the load's state) turned
 * into a loader program, the way libbpf's gen_loader.c builds a light skeleton.
 *
 * - The data map's value holds every attr, with pointers and fds filled in by the program as it
 *   goes: pointers are the data map's own address plus an offset, fds are read back from the
 *   context, where each step leaves the fd it made.
 * - Map references in instructions become `BPF_PSEUDO_MAP_IDX(_VALUE)`s into one `fd_array` shared by
 *   every program: MAX_USED_MAPS slots for map fds, then one slot per kfunc or typed ksym for the
 *   module BTF it may live in (sparse beyond MAX_KFUNC_DESCS, as long as `insn->off` can hold it).
 * - Kfuncs, typed ksyms and attach targets are looked up by name with `bpf_btf_find_by_name_kind()`
 *   when the program runs, once per name; typeless ksyms with `bpf_kallsyms_lookup_name()`. A weak
 *   kfunc missing at run time is poisoned as a normal load poisons it.
 * - Initial values come from the context when the caller gives one (`bpf_copy_from_user()`), else
 *   from the data; `max_entries` likewise.
 * - A failing step leaves its index in the context and the program returns the negative errno.
 */
import { BtfKindId } from "@x/btf";
import { AluOp, asm, CALL, decodeInstructions, encodeInstructions, type Instruction, isLdImm64, JmpOp, LD_IMM64, POISON_KFUNC_CALL_BASE, PseudoCall, PseudoLd } from "@x/reloc";
import {
  BpfCmd, BpfFunc, BtfLoadAttr, type LoaderProgram, type LoaderProgramMap, type LoaderProgramStep, MapCreateAttr, MapElemAttr, MapFreezeAttr, MapType,
  objName, ProgBindMapAttr, ProgFlags, ProgLoadAttr, ProgTestRunAttr, ProgType, type AttrTemplate, type ProgLoadOptions, type MapCreateOptions,
} from "@x/sys";
import { ObjectError } from "../errors.js";
import type { KernelFd } from "../load/kernel.js";
import type { LoadState, MapState, ProgramState } from "../load/state.js";
import { Blob, Code, goTo, jumpIf, type Label } from "./code.js";
import type { Placeholder, RecordedLookup, RecordingKernel } from "./recording-kernel.js";

/** libbpf gen_loader: map fds in `fd_array` before the kfunc BTF region. */
export const MAX_USED_MAPS = 64;
/** libbpf gen_loader: the kfunc BTF region; beyond it the array grows sparse up to `INT16_MAX`. */
export const MAX_KFUNC_DESCS = 256;
const MAX_FD_ARRAY_INDEX = 0x7fff;

const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R_CTX = 6, R_DATA = 7, R_TMP = 8;
const HEADER = 24; // struct bpf_loader_ctx
const MAP_DESC = 16; // struct bpf_map_desc
const LOG_LEVEL = 8, LOG_SIZE = 12, LOG_BUF = 16;

/** Where an extern's run-time lookup result goes. */
type Site =
  | { readonly kind: "call"; readonly at: number }
  | { readonly kind: "ld64"; readonly at: number; readonly dst: number }
  | { readonly kind: "attr"; readonly id: number; readonly fd: number };

interface Lookup {
  readonly name: string;
  readonly what: string;
  /** `bpf_btf_find_by_name_kind()` of this BTF kind, or `bpf_kallsyms_lookup_name()`. */
  readonly kind: number | "kallsyms";
  readonly weak: boolean;
  /** The extern's index (its poisoned call names it). */
  readonly externIndex: number;
  readonly sites: Site[];
}

const BTF_KIND: Record<RecordedLookup["kind"], number> = { FUNC: BtfKindId.FUNC!, VAR: BtfKindId.VAR!, TYPEDEF: BtfKindId.TYPEDEF!, STRUCT: BtfKindId.STRUCT! };

/** A map value holding fds (program arrays, maps of maps): the recorded placeholder becomes the run's fd. */
const FD_VALUED = new Set<number>([MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS]);

function template(layout: { encode(v: object, le: boolean): Uint8Array; field(n: string): { offset: number } }, value: object, fields: readonly string[]): AttrTemplate {
  return { bytes: layout.encode(value, true), at: Object.fromEntries(fields.map((f) => [f, layout.field(f).offset])) };
}

function refuse(s: LoadState, why: string): ObjectError {
  return new ObjectError("OBJECT_LOADER_PROGRAM", `${s.spec.name}: ${why}`, { object: s.spec.name });
}

/** A loader program, and the placeholders of the recorded load that its run's fds belong to. */
export interface EmittedLoaderProgram {
  readonly program: LoaderProgram;
  /** In the order of `program.maps`. */
  readonly maps: readonly Placeholder[];
  /** In the order of `program.programs`. */
  readonly programs: readonly Placeholder[];
  readonly btf: Placeholder | undefined;
}

/** Turn the recorded load of `s` into a loader program. */
export function emitLoaderProgram(rec: RecordingKernel, s: LoadState): EmittedLoaderProgram {
  const e = new Emitter(rec, s);
  const program = e.emit();
  return { program, maps: e.maps.map((m) => m.fd), programs: e.programs.map((p) => p.fd), btf: e.btf };
}

class Emitter {
  readonly data = new Blob();
  readonly code = new Code();
  readonly steps: LoaderProgramStep[] = [];
  readonly fail: Label = {};
  readonly maps: { fd: Placeholder; state: MapState | undefined; options: MapCreateOptions; name: string }[] = [];
  readonly programs: { fd: Placeholder; state: ProgramState; options: ProgLoadOptions }[] = [];
  readonly lookups = new Map<string, Lookup>();
  readonly mapIndex = new Map<number, number>();
  readonly programIndex = new Map<number, number>();
  ctx!: { maps: number; programs: number; failedStep: number; btfFd: number; externFds: number; size: number };
  fdArray = 0;
  btf: Placeholder | undefined;
  scratch = 0;

  constructor(
    readonly rec: RecordingKernel,
    readonly s: LoadState,
  ) {}

  emit(): LoaderProgram {
    const { rec, s } = this;
    const byFd = new Map<KernelFd, MapState>([...s.maps.values()].map((m) => [m.fd, m]));
    const names = new Set<string>();
    for (const c of rec.calls) {
      if (c.kind === "btf") this.btf = c.fd;
      if (c.kind === "map") {
        const state = byFd.get(c.fd);
        let name = state?.spec.name ?? c.options.name ?? `map${this.maps.length}`;
        while (names.has(name)) name = `${name}#`;
        names.add(name);
        this.mapIndex.set(c.fd.fd, this.maps.length);
        this.maps.push({ fd: c.fd, state, options: c.options, name });
      }
      if (c.kind === "program") {
        const state = s.programs.find((p) => p.insns === c.options.insns);
        if (!state) throw new Error(`internal: loader program: a recorded program load has no program state`);
        this.programIndex.set(c.fd.fd, this.programs.length);
        this.programs.push({ fd: c.fd, state, options: c.options });
      }
    }
    if (this.maps.length > MAX_USED_MAPS) throw refuse(s, `it has ${this.maps.length} maps, and a loader program holds at most ${MAX_USED_MAPS} (libbpf's MAX_USED_MAPS)`);
    this.collectExternLookups();
    this.collectAttachLookups();
    const kfuncSlots = [...this.lookups.values()].filter((l) => l.kind !== "kallsyms").length;
    if (MAX_USED_MAPS + kfuncSlots > MAX_FD_ARRAY_INDEX) throw refuse(s, `${kfuncSlots} kfuncs and typed ksyms need fd_array slots beyond ${MAX_FD_ARRAY_INDEX}, which insn->off cannot hold`);

    // Context: libbpf's header and descriptors, then the failed step, the BTF fd and the module BTF fds.
    const maps = HEADER;
    const programs = maps + this.maps.length * MAP_DESC;
    const failedStep = programs + this.programs.length * 4;
    const btfFd = failedStep + 4;
    const externFds = btfFd + 4;
    const size = (externFds + kfuncSlots * 4 + 7) & ~7;
    if (size > 0xffff) throw refuse(s, `its loader program's context would be ${size} bytes, more than the kernel's U16_MAX`);
    this.ctx = { maps, programs, failedStep, btfFd, externFds, size };
    this.fdArray = this.data.reserve((MAX_USED_MAPS + kfuncSlots) * 4);
    this.scratch = this.data.reserve(8);

    const placed = this.placeCalls();
    this.code.emit(asm.mov64Reg(R_CTX, R1), ...asm.ldImm64(R_DATA, PseudoLd.MAP_IDX_VALUE, 0, 0));
    this.emitLookups();
    for (const step of placed) step();
    this.code.emit(asm.mov64Imm(R0, 0), asm.exit());
    this.code.bind(this.fail);
    this.code.emit(asm.exit());

    const data = this.data.finish();
    const insns = this.code.finish();
    return {
      format: 1,
      object: s.spec.name,
      insns,
      data,
      ctx: { size, maps, programs, failedStep, btfFd, externFds, externFdCount: kfuncSlots },
      maps: this.maps.map((m): LoaderProgramMap => ({
        name: m.name,
        ...(m.state?.spec.section ? { section: m.state.spec.section } : {}),
        type: m.options.type,
        keySize: m.options.keySize,
        valueSize: m.options.valueSize,
        maxEntries: m.options.maxEntries,
        flags: m.options.flags ?? 0,
        ...(this.initialValues.has(m.fd.fd) ? { initialValueSize: this.initialValues.get(m.fd.fd)! } : {}),
        frozen: rec.calls.some((c) => c.kind === "freeze" && c.map === m.fd),
      })),
      programs: this.programs.map((p) => ({ name: p.state.spec.name, type: p.options.type })),
      steps: this.steps,
      binds: rec.calls.flatMap((c) => (c.kind === "bind" ? [[this.programIndex.get(c.program.fd)!, this.mapIndex.get(c.map.fd)!] as const] : [])),
      attrs: {
        dataMapCreate: template(MapCreateAttr, { map_type: MapType.ARRAY, key_size: 4, value_size: data.byteLength, max_entries: 1, map_name: objName("__loader.map") }, []),
        dataMapUpdate: template(MapElemAttr, {}, ["map_fd", "key", "value"]),
        progLoad: template(ProgLoadAttr, { prog_type: ProgType.SYSCALL, prog_flags: ProgFlags.BPF_F_SLEEPABLE, prog_name: objName("__loader.prog") }, [
          "insns", "insn_cnt", "license", "fd_array", "log_level", "log_size", "log_buf",
        ]),
        testRun: template(ProgTestRunAttr, {}, ["prog_fd", "retval", "ctx_in", "ctx_size_in"]),
        bindMap: template(ProgBindMapAttr, {}, ["prog_fd", "map_fd"]),
      },
    };
  }

  readonly initialValues = new Map<number, number>();

  // ---- steps and the code they share ----

  #step(info: LoaderProgramStep): void {
    // Through a register: kernels before 6.3 refuse BPF_ST into a context ("BPF_ST stores into R6 ctx").
    this.code.emit(asm.mov64Imm(R0, this.steps.length), asm.stxMem("W", R_CTX, R0, this.ctx.failedStep));
    this.steps.push(info);
  }

  /** `bpf_sys_bpf(cmd, data + attr, size)`, failing the load on a negative result. */
  #sysBpf(cmd: number, attr: number, size: number): void {
    this.code.emit(asm.mov64Imm(R1, cmd), asm.mov64Reg(R2, R_DATA), asm.alu64Imm(AluOp.ADD, R2, attr), asm.mov64Imm(R3, size), asm.call(BpfFunc.sys_bpf));
    jumpIf(this.code, JmpOp.JSLT, R0, 0, this.fail);
  }

  /** `*(u64 *)(data + at) = data + target`: a pointer field. */
  #pointer(at: number, target: number): void {
    this.code.emit(...asm.ldImm64(R0, PseudoLd.MAP_IDX_VALUE, 0, target), asm.stxMem("DW", R_DATA, R0, at));
  }

  /** `*(u32 *)(data + at) = fd of p` (read back from the context, where its step left it). */
  #fd(at: number, p: Placeholder): void {
    this.code.emit(asm.ldxMem("W", R0, R_CTX, this.#ctxSlot(p)), asm.stxMem("W", R_DATA, R0, at));
  }

  #ctxSlot(p: Placeholder): number {
    if (p === this.btf) return this.ctx.btfFd;
    const m = this.mapIndex.get(p.fd);
    if (m !== undefined) return this.ctx.maps + m * MAP_DESC;
    const prog = this.programIndex.get(p.fd);
    if (prog !== undefined) return this.ctx.programs + prog * 4;
    throw new Error(`internal: loader program: fd ${p.fd} is not one the load made before it is used`);
  }

  #placeholder(fd: number | { fd: number } | undefined): Placeholder | undefined {
    if (fd === undefined) return undefined;
    const n = typeof fd === "number" ? fd : fd.fd;
    const p = this.rec.placeholderOf(n);
    if (!p) throw refuse(this.s, `fd ${n} in a recorded call is not one the load made`);
    return p;
  }

  /** The log settings of the context, copied into an attr when the caller asked for a log. */
  #log(level: number, size: number, buf: number): void {
    const skip: Label = {};
    this.code.emit(asm.ldxMem("W", R0, R_CTX, LOG_LEVEL));
    jumpIf(this.code, JmpOp.JEQ, R0, 0, skip);
    this.code.emit(
      asm.stxMem("W", R_DATA, R0, level),
      asm.ldxMem("W", R0, R_CTX, LOG_SIZE),
      asm.stxMem("W", R_DATA, R0, size),
      asm.ldxMem("DW", R0, R_CTX, LOG_BUF),
      asm.stxMem("DW", R_DATA, R0, buf),
    );
    this.code.bind(skip);
  }

  /** Lay out every call's data and return the code of each, to emit after the lookups. */
  placeCalls(): (() => void)[] {
    const out: (() => void)[] = [];
    const updated = new Set<number>();
    for (const c of this.rec.calls) {
      switch (c.kind) {
        case "btf": {
          const attr = this.data.reserve(BtfLoadAttr.size);
          const bytes = this.data.add(c.bytes);
          BtfLoadAttr.write(this.data.view(attr, BtfLoadAttr.size), 0, { btf_size: c.bytes.byteLength }, true);
          out.push(() => {
            this.#pointer(attr + BtfLoadAttr.field("btf").offset, bytes);
            this.#log(attr + BtfLoadAttr.field("btf_log_level").offset, attr + BtfLoadAttr.field("btf_log_size").offset, attr + BtfLoadAttr.field("btf_log_buf").offset);
            this.#step({ what: "BTF", command: BpfCmd.BTF_LOAD });
            this.#sysBpf(BpfCmd.BTF_LOAD, attr, BtfLoadAttr.size);
            this.code.emit(asm.stxMem("W", R_CTX, R0, this.ctx.btfFd));
          });
          break;
        }
        case "map":
          out.push(this.#placeMap(c.fd, c.options));
          break;
        case "update": {
          const m = this.maps[this.mapIndex.get(c.map.fd)!]!;
          const attr = this.data.reserve(MapElemAttr.size);
          const key = this.data.add(c.key);
          const value = this.data.add(c.value);
          const fdValue = FD_VALUED.has(m.options.type) && c.value.byteLength === 4 ? this.rec.placeholderOf(new DataView(c.value.buffer, c.value.byteOffset).getUint32(0, true)) : undefined;
          if (fdValue) this.data.view(value, 4).fill(0);
          const initial = !updated.has(m.fd.fd) && m.state?.image !== undefined && c.value.byteLength === m.options.valueSize && c.key.every((b) => b === 0);
          updated.add(m.fd.fd);
          if (initial) this.initialValues.set(m.fd.fd, c.value.byteLength);
          out.push(() => {
            if (initial) this.#initialValue(m, value, c.value.byteLength);
            this.#fd(attr + MapElemAttr.field("map_fd").offset, m.fd);
            this.#pointer(attr + MapElemAttr.field("key").offset, key);
            this.#pointer(attr + MapElemAttr.field("value").offset, value);
            if (fdValue) this.#fd(value, fdValue);
            this.#step({ what: `map '${m.name}'`, command: BpfCmd.MAP_UPDATE_ELEM, map: m.name });
            this.#sysBpf(BpfCmd.MAP_UPDATE_ELEM, attr, MapElemAttr.size);
          });
          break;
        }
        case "freeze": {
          const m = this.maps[this.mapIndex.get(c.map.fd)!]!;
          const attr = this.data.reserve(MapFreezeAttr.size);
          out.push(() => {
            this.#fd(attr + MapFreezeAttr.field("map_fd").offset, m.fd);
            this.#step({ what: `map '${m.name}'`, command: BpfCmd.MAP_FREEZE, map: m.name });
            this.#sysBpf(BpfCmd.MAP_FREEZE, attr, MapFreezeAttr.size);
          });
          break;
        }
        case "program":
          out.push(this.#placeProgram(this.programs[this.programIndex.get(c.fd.fd)!]!));
          break;
        case "bind":
          break; // From user space after the run: bpf_sys_bpf() has no BPF_PROG_BIND_MAP.
      }
    }
    return out;
  }

  #placeMap(fd: Placeholder, o: MapCreateOptions): () => void {
    const index = this.mapIndex.get(fd.fd)!;
    const m = this.maps[index]!;
    const attr = this.data.reserve(MapCreateAttr.size);
    MapCreateAttr.write(this.data.view(attr, MapCreateAttr.size), 0, {
      map_type: o.type,
      key_size: o.keySize,
      value_size: o.valueSize,
      max_entries: o.maxEntries,
      map_flags: o.flags ?? 0,
      numa_node: o.numaNode ?? 0,
      map_name: objName(o.name),
      map_ifindex: o.ifindex ?? 0,
      btf_key_type_id: o.btfKeyTypeId ?? 0,
      btf_value_type_id: o.btfValueTypeId ?? 0,
      map_extra: o.mapExtra ?? 0n,
    }, true);
    const btf = this.#placeholder(o.btfFd);
    const inner = this.#placeholder(o.innerMapFd);
    const desc = this.ctx.maps + index * MAP_DESC;
    return () => {
      if (btf) this.#fd(attr + MapCreateAttr.field("btf_fd").offset, btf);
      if (inner) this.#fd(attr + MapCreateAttr.field("inner_map_fd").offset, inner);
      // max_entries from the context when the caller set one.
      const keep: Label = {};
      this.code.emit(asm.ldxMem("W", R0, R_CTX, desc + 4));
      jumpIf(this.code, JmpOp.JEQ, R0, 0, keep);
      this.code.emit(asm.stxMem("W", R_DATA, R0, attr + MapCreateAttr.field("max_entries").offset));
      this.code.bind(keep);
      this.#step({ what: `map '${m.name}'`, command: BpfCmd.MAP_CREATE, map: m.name });
      this.#sysBpf(BpfCmd.MAP_CREATE, attr, MapCreateAttr.size);
      this.code.emit(asm.stxMem("W", R_CTX, R0, desc), asm.stxMem("W", R_DATA, R0, this.fdArray + index * 4));
    };
  }

  /** The caller's initial value, when the context points at one: copied over the data's. */
  #initialValue(m: (typeof this.maps)[number], value: number, size: number): void {
    const none: Label = {};
    const desc = this.ctx.maps + this.mapIndex.get(m.fd.fd)! * MAP_DESC;
    this.code.emit(asm.ldxMem("DW", R3, R_CTX, desc + 8));
    jumpIf(this.code, JmpOp.JEQ, R3, 0, none);
    this.#step({ what: `map '${m.name}': its initial value`, helper: "bpf_copy_from_user", map: m.name });
    this.code.emit(asm.mov64Reg(R1, R_DATA), asm.alu64Imm(AluOp.ADD, R1, value), asm.mov64Imm(R2, size), asm.call(BpfFunc.copy_from_user));
    jumpIf(this.code, JmpOp.JSLT, R0, 0, this.fail);
    this.code.bind(none);
  }

  #placeProgram(p: (typeof this.programs)[number]): () => void {
    const o = p.options;
    const name = p.state.spec.name;
    const insnsAt = this.data.add(this.#programInsns(p));
    const license = this.data.addString(o.license).at;
    const funcInfo = o.funcInfo?.bytes.byteLength ? this.data.add(o.funcInfo.bytes) : undefined;
    const lineInfo = o.lineInfo?.bytes.byteLength ? this.data.add(o.lineInfo.bytes) : undefined;
    const attr = this.data.reserve(ProgLoadAttr.size);
    const btf = this.#placeholder(o.progBtfFd);
    if (o.attachBtfObjFd !== undefined && !this.attachFromLookup.has(p.fd.fd)) throw refuse(this.s, `program '${name}': its attach target's module BTF was not looked up by name`);
    ProgLoadAttr.write(this.data.view(attr, ProgLoadAttr.size), 0, {
      prog_type: o.type,
      insn_cnt: o.insns.byteLength / 8,
      kern_version: o.kernVersion ?? 0,
      prog_flags: o.flags ?? 0,
      prog_name: objName(o.name),
      prog_ifindex: o.ifindex ?? 0,
      expected_attach_type: o.expectedAttachType ?? 0,
      func_info_rec_size: funcInfo !== undefined ? o.funcInfo!.recSize : 0,
      func_info_cnt: funcInfo !== undefined ? o.funcInfo!.bytes.byteLength / o.funcInfo!.recSize : 0,
      line_info_rec_size: lineInfo !== undefined ? o.lineInfo!.recSize : 0,
      line_info_cnt: lineInfo !== undefined ? o.lineInfo!.bytes.byteLength / o.lineInfo!.recSize : 0,
      attach_btf_id: o.attachBtfId ?? 0,
    }, true);
    const at = (f: Parameters<typeof ProgLoadAttr.field>[0]) => attr + ProgLoadAttr.field(f).offset;
    this.programAttrs.set(p.fd.fd, { id: at("attach_btf_id"), fd: at("attach_btf_obj_fd") });
    this.programInsnsAt.set(p.state, insnsAt);
    const index = this.programIndex.get(p.fd.fd)!;
    return () => {
      this.#pointer(at("insns"), insnsAt);
      this.#pointer(at("license"), license);
      if (funcInfo !== undefined) this.#pointer(at("func_info"), funcInfo);
      if (lineInfo !== undefined) this.#pointer(at("line_info"), lineInfo);
      this.#pointer(at("fd_array"), this.fdArray);
      if (btf) this.#fd(at("prog_btf_fd"), btf);
      this.#log(at("log_level"), at("log_size"), at("log_buf"));
      this.#step({ what: `program '${name}'`, command: BpfCmd.PROG_LOAD, program: name });
      this.#sysBpf(BpfCmd.PROG_LOAD, attr, ProgLoadAttr.size);
      this.code.emit(asm.stxMem("W", R_CTX, R0, this.ctx.programs + index * 4));
    };
  }

  /** Attr fields of each program load that a lookup fills (attach BTF id and its module's fd). */
  readonly programAttrs = new Map<number, { id: number; fd: number }>();
  /** Where each program's instructions are in the data. */
  readonly programInsnsAt = new Map<ProgramState, number>();
  /** Programs whose attach BTF id a lookup resolves. */
  readonly attachFromLookup = new Set<number>();

  /**
   * A program's instructions as the loader program sends them: maps by `fd_array` index instead of
   * fd, and what the run-time lookups fill in zeroed.
   */
  #programInsns(p: (typeof this.programs)[number]): Uint8Array {
    const insns = decodeInstructions(p.options.insns, true);
    for (let i = 0; i < insns.length; i++) {
      const insn = insns[i]!;
      if (insn.code === LD_IMM64) {
        const next = insns[i + 1];
        if (insn.srcReg === PseudoLd.MAP_FD || insn.srcReg === PseudoLd.MAP_VALUE) {
          const index = this.mapIndex.get(insn.imm);
          if (index === undefined) throw refuse(this.s, `program '${p.state.spec.name}': instruction ${i} refers to fd ${insn.imm}, which is not a map of this load`);
          insn.srcReg = insn.srcReg === PseudoLd.MAP_FD ? PseudoLd.MAP_IDX : PseudoLd.MAP_IDX_VALUE;
          insn.imm = index;
        } else if (insn.srcReg === PseudoLd.BTF_ID && next) {
          next.imm = 0; // the module BTF fd, if any, comes from the lookup
        }
        i++;
      } else if (insn.code === CALL && insn.srcReg === PseudoCall.KFUNC_CALL) {
        insn.off = 0;
      }
    }
    for (const l of this.lookups.values()) {
      for (const site of l.sites) if (site.kind !== "attr" && this.#siteProgram.get(site) === p.state) checkSite(insns, site, p.state.spec.name);
    }
    return encodeInstructions(insns, true);
  }

  readonly #siteProgram = new Map<Site, ProgramState>();

  // ---- run-time lookups ----

  /** Every extern reference the load resolved against the kernel: looked up again when the program runs. */
  collectExternLookups(): void {
    const { s } = this;
    for (const p of s.programs) {
      for (const r of p.linked.relocations) {
        if (r.kind !== "extern-ld64" && r.kind !== "extern-call") continue;
        const name = r.externName ?? r.symbol;
        const e = s.spec.externs.find((x) => x.name === name);
        const resolved = s.externs.get(name);
        if (!e || !resolved || e.kind === "kconfig") continue;
        // Missing when generated: decided then (zero, or a poisoned call), as a normal load decides.
        if (resolved.kind === "missing") continue;
        const typeless = e.kind === "ksym" && e.typeId === 0;
        if (typeless && resolved.kind === "address" && resolved.address === 0n) continue;
        const lookupName = e.kind === "kfunc" ? e.essentialName : e.name;
        const key = `${typeless ? "kallsyms" : e.kind}:${lookupName}`;
        let l = this.lookups.get(key);
        if (!l) {
          l = { name: lookupName, what: `extern '${name}'`, kind: typeless ? "kallsyms" : e.kind === "kfunc" ? BTF_KIND.FUNC : BTF_KIND.VAR, weak: e.weak, externIndex: e.index, sites: [] };
          this.lookups.set(key, l);
        }
        // The site's offset in the data is known once the program is placed: kept relative for now.
        const site: Site = r.kind === "extern-call" ? { kind: "call", at: r.insnIndex * 8 } : { kind: "ld64", at: r.insnIndex * 8, dst: (p.code ?? p.linked.insns)[r.insnIndex]?.dstReg ?? 0 };
        l.sites.push(site);
        this.#siteProgram.set(site, p);
      }
    }
  }

  /** Attach targets (tracing, LSM, iterators…) by BTF id: looked up again by name when the program runs. */
  collectAttachLookups(): void {
    for (const p of this.programs) {
      const id = p.options.attachBtfId;
      if (!id) continue;
      const module = p.options.attachBtfObjFd === undefined ? 0 : [...this.rec.moduleBtfs].find(([, fd]) => fd.fd === (typeof p.options.attachBtfObjFd === "number" ? p.options.attachBtfObjFd : p.options.attachBtfObjFd!.fd))?.[0];
      const found = module === undefined ? undefined : this.rec.lookups.get(`${module}:${id}`);
      if (!found) throw refuse(this.s, `program '${p.state.spec.name}': its attach BTF id ${id} was not found by name, so the loader program cannot look it up on the kernel it runs on`);
      this.attachFromLookup.add(p.fd.fd);
      const site: Site = { kind: "attr", id: -1, fd: -1 };
      this.lookups.set(`attach:${p.fd.fd}`, { name: found.name, what: `program '${p.state.spec.name}': attach target '${found.name}'`, kind: BTF_KIND[found.kind], weak: false, externIndex: 0, sites: [site] });
      this.#attachSites.set(site, p.fd.fd);
    }
  }

  readonly #attachSites = new Map<Site, number>();

  /** Where a site is in the data, now that every program is placed. */
  #siteAt(site: Site): Site {
    if (site.kind === "attr") return { kind: "attr", ...this.programAttrs.get(this.#attachSites.get(site)!)! };
    const base = this.programInsnsAt.get(this.#siteProgram.get(site)!)!;
    return { ...site, at: base + site.at };
  }

  emitLookups(): void {
    let slot = 0;
    for (const l of this.lookups.values()) {
      const done: Label = {};
      const missing: Label = {};
      const name = this.data.addString(l.name);
      const sites = l.sites.map((x) => this.#siteAt(x));
      if (l.kind === "kallsyms") {
        this.#step({ what: l.what, helper: "bpf_kallsyms_lookup_name" });
        this.code.emit(asm.mov64Reg(R1, R_DATA), asm.alu64Imm(AluOp.ADD, R1, name.at), asm.mov64Imm(R2, name.size), asm.mov64Imm(R3, 0), asm.mov64Reg(R4, R_DATA), asm.alu64Imm(AluOp.ADD, R4, this.scratch), asm.call(BpfFunc.kallsyms_lookup_name));
        jumpIf(this.code, JmpOp.JSLT, R0, 0, l.weak ? missing : this.fail);
        this.code.emit(asm.ldxMem("DW", R_TMP, R_DATA, this.scratch));
        for (const x of sites) if (x.kind === "ld64") this.code.emit(asm.stxMem("W", R_DATA, R_TMP, x.at + 4));
        this.code.emit(asm.alu64Imm(AluOp.RSH, R_TMP, 32));
        for (const x of sites) if (x.kind === "ld64") this.code.emit(asm.stxMem("W", R_DATA, R_TMP, x.at + 12));
        if (l.weak) {
          // Weak and missing here: address 0, as a normal load resolves it.
          goTo(this.code, done);
          this.code.bind(missing);
          for (const x of sites) if (x.kind === "ld64") this.code.emit(asm.stMem("W", R_DATA, x.at + 4, 0), asm.stMem("W", R_DATA, x.at + 12, 0));
        }
        this.code.bind(done);
        continue;
      }
      const fdSlot = MAX_USED_MAPS + slot;
      const externFd = this.ctx.externFds + slot * 4;
      slot++;
      this.#step({ what: l.what, helper: "bpf_btf_find_by_name_kind" });
      this.code.emit(asm.mov64Reg(R1, R_DATA), asm.alu64Imm(AluOp.ADD, R1, name.at), asm.mov64Imm(R2, name.size), asm.mov64Imm(R3, l.kind), asm.mov64Imm(R4, 0), asm.call(BpfFunc.btf_find_by_name_kind));
      jumpIf(this.code, JmpOp.JSLT, R0, 0, l.weak ? missing : this.fail);
      this.code.emit(asm.mov64Reg(R_TMP, R0));
      for (const x of sites) this.code.emit(asm.stxMem("W", R_DATA, R_TMP, x.kind === "attr" ? x.id : x.at + 4));
      this.code.emit(asm.alu64Imm(AluOp.RSH, R_TMP, 32));
      jumpIf(this.code, JmpOp.JEQ, R_TMP, 0, done); // vmlinux: fd 0, insn->off 0
      this.code.emit(asm.stxMem("W", R_DATA, R_TMP, this.fdArray + fdSlot * 4), asm.stxMem("W", R_CTX, R_TMP, externFd));
      for (const x of sites) {
        if (x.kind === "call") this.code.emit(asm.stMem("H", R_DATA, x.at + 2, fdSlot));
        else if (x.kind === "ld64") this.code.emit(asm.stxMem("W", R_DATA, R_TMP, x.at + 12));
        else this.code.emit(asm.stxMem("W", R_DATA, R_TMP, x.fd));
      }
      if (l.weak) {
        // Weak and missing here: a poisoned call (the verifier drops it when bpf_ksym_exists() guards it), an address of 0.
        goTo(this.code, done);
        this.code.bind(missing);
        for (const x of sites) {
          if (x.kind === "call") this.code.emit(asm.stMem("B", R_DATA, x.at + 1, 0), asm.stMem("H", R_DATA, x.at + 2, 0), asm.stMem("W", R_DATA, x.at + 4, POISON_KFUNC_CALL_BASE + l.externIndex));
          else if (x.kind === "ld64") this.code.emit(asm.stMem("B", R_DATA, x.at + 1, x.dst), asm.stMem("W", R_DATA, x.at + 4, 0), asm.stMem("W", R_DATA, x.at + 12, 0));
        }
      }
      this.code.bind(done);
    }
  }
}

/** The instruction a lookup patches is what the load made of it. */
function checkSite(insns: readonly Instruction[], site: Site, program: string): void {
  if (site.kind === "attr") return;
  const insn = insns[site.at / 8];
  const ok = site.kind === "call" ? insn?.code === CALL : isLdImm64(insn);
  if (!ok) throw new Error(`internal: loader program: program '${program}' instruction ${site.at / 8} is not the ${site.kind} an extern refers to`);
}

