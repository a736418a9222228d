/**
 * struct_ops at load (libbpf `bpf_map__init_kern_struct_ops`, `bpf_map_prepare_vdata`): each struct_ops
 * map's struct is rewritten into the kernel's layout. The kernel's `struct bpf_struct_ops_NAME` is the
 * map's value (its size and vmlinux BTF id go to map creation); the object's struct is matched member by
 * member, by name, into its `data` member: plain members copied (same size), function pointers given to
 * the programs they point to (loaded as STRUCT_OPS with the kernel struct as attach BTF id and the
 * member's index as expected attach type), and filled with those programs' fds once they are loaded.
 * Registration is `obj.structOps(name).register()`, as libbpf's attach.
 */
import type { Btf, BtfType } from "@x/btf";
import { ObjectError } from "../../errors.js";
import { isFuncPointer } from "../../struct-ops.js";
import type { MapSpec } from "../../spec.js";
import type { Phase } from "../phase.js";
import type { LoadState, StructOpsState } from "../state.js";

const skip = (btf: Btf, id: number): BtfType => btf.type(btf.resolve(id));

export const structOps: Phase = {
  name: "struct_ops",
  run(s) {
    const maps = s.spec.maps.filter((m) => m.structOps && m.autocreate !== false);
    if (!maps.length) return;
    const attach = new Map<string, { btfId: number; member: number; map: string }>();
    for (const m of maps) s.structOps.set(m.name, prepare(s, m, attach));
    for (const p of s.programs) {
      const a = attach.get(p.spec.name);
      if (a) p.structOps = { attachBtfId: a.btfId, expectedAttachType: a.member };
    }
  },
};

/** Fill each struct_ops map's value with its programs' fds (after they are loaded). */
export const fillStructOps: Phase = {
  name: "fill struct_ops",
  run(s) {
    for (const [name, st] of s.structOps) {
      const dv = new DataView(st.value.buffer, st.value.byteOffset, st.value.byteLength);
      for (const slot of st.programs) {
        const p = s.programs.find((x) => x.spec.name === slot.program);
        if (!p?.fd) {
          throw new ObjectError("OBJECT_UNSUPPORTED_PROGRAM", `struct_ops map '${name}': member '${slot.member}' points to program '${slot.program}', which this load does not load`, { object: s.spec.name, map: name, program: slot.program });
        }
        dv.setBigUint64(slot.offset, BigInt(p.fd.fd), s.spec.elf.littleEndian);
      }
    }
  },
};

/** The kernel's `struct NAME` and `struct bpf_struct_ops_NAME`, and the member of the latter holding the former. */
function kernelTypes(s: LoadState, m: MapSpec, typeName: string) {
  for (const obj of s.kernel.symbols.btfObjects()) {
    const vtypeId = obj.find(`bpf_struct_ops_${typeName}`, "STRUCT");
    if (vtypeId === undefined) continue;
    const typeId = obj.find(typeName, "STRUCT");
    if (typeId === undefined) continue;
    if (obj.id !== 0) {
      throw new ObjectError("OBJECT_UNSUPPORTED_PROGRAM", `struct_ops map '${m.name}': struct ${typeName} is in module ${obj.name}'s BTF; struct_ops of modules are not supported yet`, { object: s.spec.name, map: m.name });
    }
    const vtype = obj.btf.type(vtypeId, "STRUCT");
    const data = vtype.members.find((x) => x.type === typeId);
    if (!data) throw new ObjectError("OBJECT_BAD_MAP_DEFINITION", `struct_ops init_kern: struct ${typeName} data is not found in struct bpf_struct_ops_${typeName}`, { object: s.spec.name, map: m.name });
    return { obj, typeId, vtypeId, vsize: vtype.size, dataOffset: data.bitOffset / 8 };
  }
  throw new ObjectError("OBJECT_UNRESOLVED_EXTERN", `struct_ops map '${m.name}': struct_ops init_kern: struct bpf_struct_ops_${typeName} is not found in kernel BTF (the kernel has no struct_ops of type ${typeName})`, { object: s.spec.name, map: m.name });
}

function prepare(s: LoadState, m: MapSpec, attach: Map<string, { btfId: number; member: number; map: string }>): StructOpsState {
  const ops = m.structOps!;
  const btf = s.spec.btf!;
  const fail = (message: string) => new ObjectError("OBJECT_BAD_MAP_DEFINITION", `struct_ops init_kern ${m.name}: ${message}`, { object: s.spec.name, map: m.name });
  const k = kernelTypes(s, m, ops.typeName);
  const kbtf = k.obj.btf;
  const ktype = kbtf.type(k.typeId, "STRUCT");
  const value = new Uint8Array(k.vsize);
  const programs: { member: string; program: string; offset: number }[] = [];
  const local = btf.type(ops.typeId, "STRUCT");
  local.members.forEach((member) => {
    const moff = member.bitOffset / 8;
    const msize = btf.sizeof(member.type);
    const data = ops.image.subarray(moff, moff + msize);
    const kIndex = ktype.members.findIndex((x) => x.name === member.name);
    const prog = ops.programs.get(member.name);
    if (kIndex < 0) {
      // libbpf: a member the kernel lacks may only be zero (or an unset function pointer).
      if (prog || data.some((b) => b !== 0)) throw fail(`Cannot find member ${member.name} in kernel BTF`);
      return;
    }
    const kmember = ktype.members[kIndex]!;
    if (member.bitSize || kmember.bitSize) throw fail(`bitfield ${member.name} is not supported`);
    const kind = skip(btf, member.type).kind;
    const kkind = skip(kbtf, kmember.type).kind;
    if (kind !== kkind) throw fail(`Unmatched member type ${member.name} ${kind} != ${kkind}(kernel)`);
    const kmoff = k.dataOffset + kmember.bitOffset / 8;
    if (isFuncPointer(btf, member.type)) {
      if (!prog) return;
      if (!isFuncPointer(kbtf, kmember.type)) throw fail(`kernel member ${member.name} is not a func ptr`);
      const seen = attach.get(prog);
      if (seen && (seen.btfId !== k.typeId || seen.member !== kIndex)) {
        throw fail(`invalid reuse of prog ${prog} for func ptr ${member.name}: it is member ${seen.member} of map '${seen.map}', here member ${kIndex}`);
      }
      attach.set(prog, { btfId: k.typeId, member: kIndex, map: m.name });
      programs.push({ member: member.name, program: prog, offset: kmoff });
      return;
    }
    const ksize = kbtf.sizeof(kmember.type);
    if (msize !== ksize) throw fail(`Error in size of member ${member.name}: ${msize} != ${ksize}(kernel)`);
    value.set(data, kmoff);
  });
  return { value, valueSize: k.vsize, btfVmlinuxValueTypeId: k.vtypeId, programs };
}

