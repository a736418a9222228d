/**
 * CO-RE relocations, computed as libbpf's relo_core.c computes them: specs, candidates, matching
 * and values. Patching the instructions is `@x/reloc`'s `patchCoreInstruction`.
 *
 * @packageDocumentation
 */
export { CoreRelocationError, type CoreRelocationErrorCode } from "./errors.js";
export {
  CORE_RELO_KIND_NAMES, CORE_SPEC_MAX_LEN, coreReloKindName, coreReloKindString, formatCoreSpec, parseCoreSpec,
  type CoreAccessor, type CoreBtf, type CoreRelo, type CoreReloKindName, type CoreSpec,
} from "./spec.js";
export { coreTypesMatch, fieldsAreCompatible as coreFieldsAreCompatible, matchCoreSpec } from "./match.js";
export { calcCoreRelocation, type CoreMessageContext, type CoreRelocationValues } from "./calc.js";
export {
  CoreContext, findCoreCandidates, type CoreCandidate, type CoreContextOptions, type CoreRelocationResult,
  type CoreRelocationSite, type CoreRelocationTarget, type CoreTarget,
} from "./relocate.js";
