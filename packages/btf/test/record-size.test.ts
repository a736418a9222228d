// btfTypeExtraSize: the one table of BTF record sizes (parser, encoder, @x/sys's raw walk).
import { describe, expect, it } from "vitest";
import { BTF_KIND_NAMES, btfTypeExtraSize, BtfHeaderLayout, BtfTypeLayout, extraSize, parseBtf, parseBtfHeader } from "@x/btf";
import { readElf, sharedObj } from "./helpers.js";

describe("btfTypeExtraSize", () => {
  it("has the sizes of include/uapi/linux/btf.h", () => {
    const fixed = { INT: 4, ARRAY: 12, VAR: 4, DECL_TAG: 4 } as Record<string, number>;
    const perEntry = { STRUCT: 12, UNION: 12, ENUM: 8, ENUM64: 12, FUNC_PROTO: 8, DATASEC: 12 } as Record<string, number>;
    for (const kind of BTF_KIND_NAMES) {
      const want = fixed[kind] ?? (perEntry[kind] ?? 0) * 3;
      expect(btfTypeExtraSize(kind, 3), kind).toBe(want);
    }
    expect(btfTypeExtraSize("FUNC", 1)).toBe(0); // a FUNC's vlen is its linkage
    expect(btfTypeExtraSize("STRUCT", 0)).toBe(0);
  });

  it("walks a real type section record by record, as the encoder sizes it", () => {
    const bytes = readElf(sharedObj("globals.bpf.o")).section(".BTF");
    const h = parseBtfHeader(bytes);
    const btf = parseBtf(bytes);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let off = h.hdr_len + h.type_off;
    for (let id = 1; id < btf.types.length; id++) {
      const info = dv.getUint32(off + 4, h.littleEndian);
      const size = BtfTypeLayout.size + btfTypeExtraSize(BTF_KIND_NAMES[(info >>> 24) & 0x1f]!, info & 0xffff);
      expect(size, `type [${id}]`).toBe(BtfTypeLayout.size + extraSize(btf.types[id]!));
      off += size;
    }
    expect(off).toBe(h.hdr_len + h.type_off + h.type_len);
    expect(h.hdr_len).toBe(BtfHeaderLayout.size);
  });
});
