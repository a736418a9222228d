// Test-only fast-check arbitraries shared by the property tests of the eager and the lazy parser.
import fc from "fast-check";
import type { BtfType } from "@x/btf";

const name = fc.oneof(
  { weight: 1, arbitrary: fc.constant("") },
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.]{0,10}$/) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 6 }).filter((s) => !s.includes("\0")) },
);
const u32 = fc.nat({ max: 0xffffffff });
const linkage = fc.constantFrom("static" as const, "global" as const, "extern" as const);

/** A type whose references point into a table of `n` types (ids 0..n). */
function typeArb(n: number): fc.Arbitrary<BtfType> {
  const ref = fc.nat({ max: n });
  const list = <T>(a: fc.Arbitrary<T>) => fc.array(a, { maxLength: 5 });
  return fc.oneof(
    fc.record({ kind: fc.constant("INT" as const), name, size: fc.constantFrom(1, 2, 4, 8, 16), encoding: fc.nat({ max: 15 }), offset: fc.nat({ max: 255 }), bits: fc.nat({ max: 255 }) }),
    fc.record({ kind: fc.constantFrom("PTR" as const, "TYPEDEF" as const, "VOLATILE" as const, "CONST" as const, "RESTRICT" as const), name, type: ref }),
    fc.record({ kind: fc.constant("TYPE_TAG" as const), name, type: ref, attr: fc.boolean() }),
    fc.record({ kind: fc.constant("ARRAY" as const), name, type: ref, indexType: ref, nelems: u32 }),
    fc.boolean().chain((kindFlag) =>
      fc.record({
        kind: fc.constantFrom("STRUCT" as const, "UNION" as const), name, size: u32, kindFlag: fc.constant(kindFlag),
        members: list(fc.record({ name, type: ref, bitOffset: kindFlag ? fc.nat({ max: 0xffffff }) : u32, bitSize: kindFlag ? fc.nat({ max: 255 }) : fc.constant(0) })),
      })),
    fc.boolean().chain((signed) =>
      fc.record({
        kind: fc.constant("ENUM" as const), name, size: fc.constantFrom(1, 2, 4, 8), signed: fc.constant(signed),
        values: list(fc.record({ name, value: signed ? fc.integer({ min: -0x80000000, max: 0x7fffffff }) : u32 })),
      })),
    fc.boolean().chain((signed) =>
      fc.record({
        kind: fc.constant("ENUM64" as const), name, size: fc.constantFrom(1, 2, 4, 8), signed: fc.constant(signed),
        values: list(fc.record({ name, value: signed ? fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }) : fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) })),
      })),
    fc.record({ kind: fc.constant("FWD" as const), name, union: fc.boolean() }),
    fc.record({ kind: fc.constant("FUNC" as const), name, type: ref, linkage }),
    fc.record({ kind: fc.constant("FUNC_PROTO" as const), name, returnType: ref, params: list(fc.record({ name, type: ref })) }),
    fc.record({ kind: fc.constant("VAR" as const), name, type: ref, linkage }),
    fc.record({ kind: fc.constant("DATASEC" as const), name, size: u32, vars: list(fc.record({ type: ref, offset: u32, size: u32 })) }),
    fc.record({ kind: fc.constant("FLOAT" as const), name, size: fc.constantFrom(2, 4, 8, 12, 16) }),
    fc.record({ kind: fc.constant("DECL_TAG" as const), name, type: ref, componentIdx: fc.integer({ min: -1, max: 1000 }), attr: fc.boolean() }),
  ) as fc.Arbitrary<BtfType>;
}

/** Any type table: types of every kind, names ASCII or not, references anywhere in the table (ids 1..n). */
export const graphArb = fc.integer({ min: 0, max: 25 }).chain((n) => fc.array(typeArb(n), { minLength: n, maxLength: n }));

/** Names, some of them shared between base and split. */
const splitName = fc.oneof(fc.constant(""), fc.constantFrom("int", "long", "task_struct", "pid"), fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/));

/** Types whose references point into a table of `n` ids (for a split: the base's and its own). */
function splitTypeArb(n: number): fc.Arbitrary<BtfType> {
  const ref = fc.nat({ max: n - 1 });
  const list = <T>(a: fc.Arbitrary<T>) => fc.array(a, { maxLength: 4 });
  return fc.oneof(
    fc.record({ kind: fc.constant("INT" as const), name: splitName, size: fc.constantFrom(1, 2, 4, 8), encoding: fc.nat({ max: 7 }), offset: fc.constant(0), bits: fc.nat({ max: 64 }) }),
    fc.record({ kind: fc.constantFrom("PTR" as const, "TYPEDEF" as const, "CONST" as const, "VOLATILE" as const), name: splitName, type: ref }),
    fc.record({ kind: fc.constant("ARRAY" as const), name: fc.constant(""), type: ref, indexType: ref, nelems: fc.nat({ max: 100 }) }),
    fc.record({
      kind: fc.constantFrom("STRUCT" as const, "UNION" as const), name: splitName, size: fc.nat({ max: 64 }), kindFlag: fc.constant(false),
      members: list(fc.record({ name: splitName, type: ref, bitOffset: fc.nat({ max: 512 }), bitSize: fc.constant(0) })),
    }),
    fc.record({ kind: fc.constant("ENUM" as const), name: splitName, size: fc.constant(4), signed: fc.constant(false), values: list(fc.record({ name: splitName, value: fc.nat({ max: 1000 }) })) }),
    fc.record({ kind: fc.constant("FUNC_PROTO" as const), name: fc.constant(""), returnType: ref, params: list(fc.record({ name: splitName, type: ref })) }),
    fc.record({ kind: fc.constant("FWD" as const), name: splitName, union: fc.boolean() }),
  ) as fc.Arbitrary<BtfType>;
}

/** A base and a split on it (split BTF), with byte orders: `[baseTypes, splitTypes, baseLe, splitLe]`. */
export const splitPairArb = fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 })).chain(([nb, ns]) =>
  fc.tuple(
    fc.array(splitTypeArb(nb + 1), { minLength: nb, maxLength: nb }),
    fc.array(splitTypeArb(nb + 1 + ns), { minLength: ns, maxLength: ns }),
    fc.boolean(),
    fc.boolean(),
  ));

