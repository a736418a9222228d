/**
 * C-like rendering of BTF types for messages and listings.
 *
 * @packageDocumentation
 */
import type { Btf } from "./btf.js";
import { BtfError } from "./errors.js";
import type { BtfType } from "./types.js";

const MAX_DEPTH = 32;
const BRIEF_MEMBERS = 3;

/**
 * Render type `typeId` the way C would spell it: `const volatile struct limits`,
 * `char[16]`, `enum mode`, `__u64` (typedefs by name), `char *`, `int (*)(int, char *)`,
 * anonymous composites briefly as `struct { __u8 kind; __u32 rate; ... }`.
 *
 * @throws BtfError `BTF_BAD_TYPE_ID`, `BTF_LOOP` for cyclic references.
 */
export function formatType(btf: Btf, typeId: number): string {
  return fmt(btf, typeId, "", 0).trim();
}

/** `decl` is the declarator built so far (e.g. `*`, `[4]`, a name), applied C-style around the base type. */
function fmt(btf: Btf, id: number, decl: string, depth: number): string {
  if (depth > MAX_DEPTH) throw new BtfError("BTF_LOOP", `type [${id}]: reference chain too deep (loop?)`, { btfTypeId: id });
  const t = btf.type(id);
  const withDecl = (base: string) => (decl === "" ? base : decl.startsWith("[") ? `${base}${decl}` : `${base} ${decl}`);
  const wrap = (d: string) => (d.startsWith("*") ? `(${d})` : d);
  switch (t.kind) {
    case "VOID": return withDecl("void");
    case "INT": case "FLOAT": case "TYPEDEF": return withDecl(t.name || "(anon)");
    case "STRUCT": case "UNION": return withDecl(t.name ? `${t.kind.toLowerCase()} ${t.name}` : brief(btf, t, depth));
    case "ENUM": case "ENUM64": return withDecl(t.name ? `enum ${t.name}` : "enum { ... }");
    case "FWD": return withDecl(`${t.union ? "union" : "struct"} ${t.name}`);
    case "CONST": case "VOLATILE": case "RESTRICT": case "TYPE_TAG": {
      // A run of qualifiers goes before the base type, or after the `*` of a pointer.
      const quals: string[] = [];
      let cur: BtfType = t;
      let cid = id;
      for (let steps = 0; cur.kind === "CONST" || cur.kind === "VOLATILE" || cur.kind === "RESTRICT" || cur.kind === "TYPE_TAG"; steps++) {
        if (steps > MAX_DEPTH) throw new BtfError("BTF_LOOP", `type [${id}]: qualifier chain loops`, { btfTypeId: id });
        quals.push(cur.kind === "TYPE_TAG" ? `__attribute__((btf_type_tag("${cur.name}")))` : cur.kind.toLowerCase());
        cid = cur.type;
        cur = btf.type(cid);
      }
      const q = quals.join(" ");
      if (cur.kind === "PTR") return fmt(btf, cid, decl ? `${q} ${decl}` : q, depth + 1);
      return `${q} ${fmt(btf, cid, decl, depth + 1)}`;
    }
    case "PTR": return fmt(btf, t.type, `*${decl}`, depth + 1);
    case "ARRAY": return fmt(btf, t.type, `${wrap(decl)}[${t.nelems}]`, depth + 1);
    case "FUNC_PROTO": {
      const ps = t.params.map((p) => (p.type === 0 && p.name === "" ? "..." : fmt(btf, p.type, p.name, depth + 1)));
      return fmt(btf, t.returnType, `${wrap(decl)}(${ps.length ? ps.join(", ") : "void"})`, depth + 1);
    }
    case "FUNC": {
      const link = t.linkage === "static" ? "static " : t.linkage === "extern" ? "extern " : "";
      const proto = btf.type(t.type);
      return proto.kind === "FUNC_PROTO" ? `${link}${fmt(btf, t.type, t.name, depth + 1)}` : `${link}${t.name}()`;
    }
    case "VAR": return `${t.linkage === "static" ? "static " : t.linkage === "extern" ? "extern " : ""}${fmt(btf, t.type, t.name, depth + 1)}`;
    case "DATASEC": return `SEC("${t.name}")`;
    case "DECL_TAG": return `__attribute__((btf_decl_tag("${t.name}")))`;
  }
}

function brief(btf: Btf, t: Extract<BtfType, { kind: "STRUCT" | "UNION" }>, depth: number): string {
  const kw = t.kind.toLowerCase();
  if (depth > 0 || t.members.length === 0) return `${kw} { ${t.members.length ? "... " : ""}}`;
  const ms = t.members.slice(0, BRIEF_MEMBERS).map((m) => {
    const d = m.bitSize ? `${m.name}:${m.bitSize}` : m.name;
    return `${fmt(btf, m.type, d, depth + 1)};`;
  });
  if (t.members.length > BRIEF_MEMBERS) ms.push("...");
  return `${kw} { ${ms.join(" ")} }`;
}
