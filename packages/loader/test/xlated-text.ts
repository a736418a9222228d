/**
 * Xlated instructions (`BPF_OBJ_GET_INFO_BY_FD`'s `xlated_prog_insns`) as text that two loads of the same
 * object can compare: "code regs off imm" per instruction, map ids replaced by map names.
 */
export function xlatedText(bytes: Uint8Array, names: ReadonlyMap<number, string>): string[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  for (let i = 0; i < bytes.byteLength; i += 8) {
    const code = dv.getUint8(i), regs = dv.getUint8(i + 1);
    let off: string | number = dv.getInt16(i + 2, true);
    let imm: string | number = dv.getInt32(i + 4, true);
    if (code === 0x18 && ((regs >> 4) === 1 || (regs >> 4) === 2)) imm = `map ${names.get(imm) ?? `#${imm}`}`;
    // A module kfunc's off is its BTF's index in that load's own fd_array, which a loader program lays
    // out as libbpf's does (map slots first, then one slot per kfunc): module or vmlinux is what compares.
    if (code === 0x85 && regs >> 4 === 2) off = off === 0 ? "vmlinux" : "module";
    out.push(`${code.toString(16)} ${regs.toString(16)} ${off} ${imm}`);
  }
  return out;
}
