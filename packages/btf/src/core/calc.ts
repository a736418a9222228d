/**
 * The values of a CO-RE relocation (libbpf `bpf_core_calc_relo`, `bpf_core_calc_field_relo`,
 * `bpf_core_calc_type_relo`, `bpf_core_calc_enumval_relo`): what the compiler put in the
 * instruction (from the local spec), what goes there instead (from the target spec), and whether
 * the instruction must be poisoned.
 *
 * @packageDocumentation
 */
import { BpfCoreReloKind } from "../ext.js";
import { BtfIntEncoding } from "../types.js";
import { isAnyEnum, isComposite } from "./match.js";
import { type CoreSpec, coreError, coreReloKindString, isEnumvalBased, isFieldBased, isTypeBased, sizeOf, skipMods } from "./spec.js";

/** libbpf `struct bpf_core_relo_res`: what {@link patchCoreInstruction} (in `@x/reloc`) needs. */
export interface CoreRelocationValues {
  /** The value the compiler put in the instruction (u64), checked there unless `validate` is false. */
  readonly origVal: bigint;
  /** The value to put there (u64). */
  readonly newVal: bigint;
  /** Nothing matched and the kind cannot say so with a value: replace the instruction with an invalid call. */
  readonly poison: boolean;
  /** Whether the instruction must hold `origVal` (not for bitfield offsets and sizes, target type ids, local type ids). */
  readonly validate: boolean;
  /**
   * The field's size changed (`origSize` → `newSize`) in a way a load or store cannot follow (not
   * between two pointers, nor between two unsigned integers): an LDX/ST/STX is poisoned.
   */
  readonly failMemszAdjust: boolean;
  /** For `FIELD_BYTE_OFFSET` of a non-bitfield: the field's size in the local type (0 otherwise). */
  readonly origSize: number;
  /** The same in the target type: a load or store of `origSize` bytes becomes one of `newSize`. */
  readonly newSize: number;
  /** The local field's type id (modifiers skipped) when `origSize` is set; else 0. */
  readonly origTypeId: number;
  /** The target field's type id when `newSize` is set; else 0. */
  readonly newTypeId: number;
}

/** Names the relocation in messages: `prog 'p': relo #3: ` and the instruction index. */
export interface CoreMessageContext {
  readonly prefix: string;
  readonly insnIndex: number;
}

interface Calc { val: bigint; size: number; typeId: number; validate: boolean }

const u32 = (n: number): bigint => BigInt(n >>> 0);

/** libbpf `bpf_core_calc_field_relo`; undefined asks for poisoning (no target spec). */
function calcField(kind: number, spec: CoreSpec | undefined, littleEndian: boolean, m: CoreMessageContext): Calc | undefined {
  if (kind === BpfCoreReloKind.FIELD_EXISTS) return { val: spec ? 1n : 0n, size: 0, typeId: 0, validate: true };
  if (!spec) return undefined;
  const btf = spec.btf;
  const acc = spec.accessors[spec.accessors.length - 1]!;
  const what = `${m.prefix}${coreReloKindString(kind)} at insn #${m.insnIndex}`;

  if (acc.name === undefined) {
    // a[n]: the element itself
    if (kind === BpfCoreReloKind.FIELD_BYTE_OFFSET) {
      const size = sizeOf(btf, acc.typeId, what);
      return { val: u32(Math.floor(spec.bitOffset / 8)), size, typeId: acc.typeId, validate: true };
    }
    if (kind === BpfCoreReloKind.FIELD_BYTE_SIZE) return { val: u32(sizeOf(btf, acc.typeId, what)), size: 0, typeId: 0, validate: true };
    throw coreError("CORE_UNSUPPORTED", `${what} can't be applied to array access`, btf, spec.rootTypeId);
  }

  const t = btf.type(acc.typeId);
  if (!isComposite(t)) throw coreError("CORE_BAD_SPEC", `${what}: [${acc.typeId}] is not a struct or union`, btf, acc.typeId);
  const member = t.members[acc.idx]!;
  const [fieldTypeId, mt] = skipMods(btf, member.type);
  const bitOff = spec.bitOffset;
  let bitSz = t.kindFlag ? member.bitSize : 0;
  const bitfield = bitSz > 0;
  let byteSz: number;
  let byteOff: number;
  if (bitfield) {
    byteSz = "size" in mt ? mt.size : 0;
    if (byteSz <= 0) throw coreError("CORE_UNSATISFIABLE", `${what}: bitfield '${acc.name}' has a type without a size`, btf, member.type);
    byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    // the smallest load (up to 8 bytes) that holds the whole bitfield
    while (bitOff + bitSz - byteOff * 8 > byteSz * 8) {
      if (byteSz >= 8) throw coreError("CORE_UNSATISFIABLE", `${what} can't be satisfied for bitfield '${acc.name}': no 8-byte load holds it`, btf, spec.rootTypeId);
      byteSz *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    }
  } else {
    byteSz = sizeOf(btf, fieldTypeId, what);
    byteOff = Math.floor(bitOff / 8);
    bitSz = byteSz * 8;
  }
  // bitfield offsets and sizes are ambiguous (the compiler may pick another load), so not validated
  switch (kind) {
    case BpfCoreReloKind.FIELD_BYTE_OFFSET:
      return { val: u32(byteOff), size: bitfield ? 0 : byteSz, typeId: bitfield ? 0 : fieldTypeId, validate: !bitfield };
    case BpfCoreReloKind.FIELD_BYTE_SIZE:
      return { val: u32(byteSz), size: 0, typeId: 0, validate: !bitfield };
    case BpfCoreReloKind.FIELD_SIGNED: {
      const signed = (isAnyEnum(mt) && mt.signed) || (mt.kind === "INT" && (mt.encoding & BtfIntEncoding.SIGNED) !== 0);
      return { val: signed ? 1n : 0n, size: 0, typeId: 0, validate: true };
    }
    case BpfCoreReloKind.FIELD_LSHIFT_U64: {
      const val = littleEndian ? 64 - (bitOff + bitSz - byteOff * 8) : (8 - byteSz) * 8 + (bitOff - byteOff * 8);
      return { val: u32(val), size: 0, typeId: 0, validate: !bitfield };
    }
    case BpfCoreReloKind.FIELD_RSHIFT_U64:
      return { val: u32(64 - bitSz), size: 0, typeId: 0, validate: true };
    default:
      throw coreError("CORE_BAD_SPEC", `${m.prefix}unrecognized CO-RE relocation ${coreReloKindString(kind)} (${kind}) at insn #${m.insnIndex}`, btf, spec.rootTypeId);
  }
}

/** libbpf `bpf_core_calc_type_relo`: a missing type gives 0, never poison. */
function calcType(kind: number, spec: CoreSpec | undefined, m: CoreMessageContext): Calc {
  if (!spec) return { val: 0n, size: 0, typeId: 0, validate: true };
  switch (kind) {
    case BpfCoreReloKind.TYPE_ID_TARGET:
      // type ids in the instruction may change when objects are linked: never validated
      return { val: u32(spec.rootTypeId), size: 0, typeId: 0, validate: false };
    case BpfCoreReloKind.TYPE_EXISTS: case BpfCoreReloKind.TYPE_MATCHES:
      return { val: 1n, size: 0, typeId: 0, validate: true };
    case BpfCoreReloKind.TYPE_SIZE:
      return { val: u32(sizeOf(spec.btf, spec.rootTypeId, `${m.prefix}type_size at insn #${m.insnIndex}`)), size: 0, typeId: 0, validate: true };
    default:
      throw coreError("CORE_BAD_SPEC", `${m.prefix}unrecognized CO-RE relocation ${coreReloKindString(kind)} (${kind}) at insn #${m.insnIndex}`, spec.btf, spec.rootTypeId);
  }
}

/** libbpf `bpf_core_calc_enumval_relo`; undefined asks for poisoning. */
function calcEnumval(kind: number, spec: CoreSpec | undefined): Calc | undefined {
  if (kind === BpfCoreReloKind.ENUMVAL_EXISTS) return { val: spec ? 1n : 0n, size: 0, typeId: 0, validate: true };
  if (!spec) return undefined;
  const acc = spec.accessors[0]!;
  const t = spec.btf.type(acc.typeId);
  if (!isAnyEnum(t)) throw coreError("CORE_BAD_SPEC", `[${acc.typeId}] is not an enum`, spec.btf, acc.typeId);
  const v = t.values[acc.idx]!.value;
  // libbpf reads a 32-bit enumerator as its __s32 `val`: sign-extended whatever the kind_flag says
  return { val: t.kind === "ENUM" ? BigInt.asUintN(64, BigInt(Number(v) | 0)) : BigInt.asUintN(64, BigInt(v)), size: 0, typeId: 0, validate: true };
}

/**
 * libbpf `bpf_core_calc_relo`: the relocation's values from the local spec and one target spec
 * (undefined: nothing matched). `littleEndian` is the program's byte order (for `FIELD_LSHIFT_U64`).
 *
 * @throws CoreRelocationError `CORE_UNSATISFIABLE` (a bitfield no 8-byte load holds, a type without
 *   a size), `CORE_UNSUPPORTED` (a signedness or shift on an array element), `CORE_BAD_SPEC` (an unknown kind).
 */
export function calcCoreRelocation(kind: number, local: CoreSpec, target: CoreSpec | undefined, littleEndian: boolean, m: CoreMessageContext): CoreRelocationValues {
  const res = { origVal: 0n, newVal: 0n, poison: false, validate: true, failMemszAdjust: false, origSize: 0, newSize: 0, origTypeId: 0, newTypeId: 0 };
  if (isFieldBased(kind)) {
    const o = calcField(kind, local, littleEndian, m)!;
    res.origVal = o.val;
    res.origSize = o.size;
    res.origTypeId = o.typeId;
    res.validate = o.validate;
    const n = calcField(kind, target, littleEndian, m);
    if (n === undefined) return { ...res, poison: true };
    res.newVal = n.val;
    res.newSize = n.size;
    res.newTypeId = n.typeId;
    if (res.origSize !== res.newSize) {
      // a load/store may change size only for pointers (a 32-bit kernel's) and unsigned integers (zero-extended)
      const ot = local.btf.type(res.origTypeId);
      const nt = target!.btf.type(res.newTypeId);
      const bothPtr = ot.kind === "PTR" && nt.kind === "PTR";
      const bothUnsigned = ot.kind === "INT" && nt.kind === "INT" && ot.encoding !== BtfIntEncoding.SIGNED && nt.encoding !== BtfIntEncoding.SIGNED;
      res.failMemszAdjust = !bothPtr && !bothUnsigned;
    }
    return res;
  }
  if (isTypeBased(kind)) {
    const o = calcType(kind, local, m);
    const n = calcType(kind, target, m);
    return { ...res, origVal: o.val, validate: o.validate, newVal: n.val };
  }
  if (isEnumvalBased(kind)) {
    const o = calcEnumval(kind, local)!;
    const n = calcEnumval(kind, target);
    if (n === undefined) return { ...res, origVal: o.val, poison: true };
    return { ...res, origVal: o.val, newVal: n.val };
  }
  throw coreError("CORE_BAD_SPEC", `${m.prefix}unrecognized CO-RE relocation ${coreReloKindString(kind)} (${kind}) at insn #${m.insnIndex}`, local.btf, local.rootTypeId);
}

