export { openObject, ObjectSpec, type MapSpec, type ProgramSpec, type OpenOptions } from "./spec.js";
export { Variable, type VariableInfo, type VariableStorage } from "./variables.js";
export { ObjectError, type ObjectErrorCode } from "./errors.js";
export { describeObject, mapTypeName, mapFlagNames, type ObjectDescription, type MapDescription, type ProgramDescription, type VariableDescription, type SectionDescription } from "./describe.js";
export { programKindOf, type ProgramKind } from "./section-defs.js";
export { internalMapName, objectNameFromPath } from "./names.js";
export { btfMapDefinitions, type BtfMapDefinition } from "./btf-maps.js";
