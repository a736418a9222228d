/**
 * `@x/loader/open`: open, inspect, configure and patch objects, with no kernel layer at all (no
 * `@x/sys` main entry, no native code): it runs wherever JavaScript runs. `spec.load()` needs the
 * main entry, `@x/loader`.
 *
 * @packageDocumentation
 */
export { openObject, ObjectSpec, type MapSpec, type ProgramSpec, type OpenOptions } from "./spec.js";
export type { StructOpsSpec } from "./struct-ops.js";
export { Variable, imageStorage, type VariableInfo, type VariableStorage } from "./variables.js";
export { ObjectError, type ObjectErrorCode } from "./errors.js";
export { describeObject, mapTypeName, mapFlagNames, type ObjectDescription, type MapDescription, type ProgramDescription, type VariableDescription, type SectionDescription, type ExternDescription, type CoreRelocationDescription } from "./describe.js";
export {
  programKindOf, findSectionDef, sectionDefMatches, progTypeName, attachTypeName, LIBBPF_SECTION_DEFS, SecFlag,
  type ProgramKind, type LibbpfSectionDef, type LibbpfAttachHandler,
} from "./section-defs.js";
export { internalMapName, objectNameFromPath } from "./names.js";
export { btfMapDefinitions, type BtfMapDefinition } from "./btf-maps.js";
export { programTestSpec, hasTestAnnotations, testPattern, POINTER_VALUE, BPF_F_TEST_REG_INVARIANTS, type TestSpec, type TestExpectation, type TestPattern } from "./test-annotations.js";
export { objectTestSpecs, matchPatterns, runTests, type TestLoader, type TestLoadRequest, type TestLoadResult, type TestResult, type TestRunOptions } from "./test-runner.js";
