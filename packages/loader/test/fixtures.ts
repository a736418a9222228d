/** Paths of the fixture objects (fixtures/obj, built from fixtures/src by tools/build-fixtures.sh). No kernel needed. */
import { fileURLToPath } from "node:url";

/** Absolute path of a fixture object, e.g. `fixture("globals")` → …/fixtures/obj/globals.bpf.o. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../../../fixtures/obj/${name}.bpf.o`, import.meta.url));
}
