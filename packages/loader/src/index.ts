/**
 * `@x/loader`: open a clang-built BPF object, configure its globals by name, load it, and use its
 * maps, programs and live variables. (`@x/loader/open` is the same without the kernel layer.)
 *
 * @packageDocumentation
 */
import { loadObject } from "./load/index.js";
import { installLoader } from "./spec.js";

installLoader(loadObject);

export * from "./open.js";
export { loadObject, type AttachTarget, type LoadOptions, type ProgramLoadOptions } from "./load/index.js";
export { LOAD_PHASES } from "./load/phases.js";
export { generateLoaderProgram, type LoaderProgramOptions } from "./loader-program/index.js";
export { checkLoaderProgramSupport } from "./loader-program/load.js";
export type { Phase } from "./load/phase.js";
export { systemKernel, type ArenaRegion, type Kernel, type KernelFd, type MappedRegion, type PinnedMap } from "./load/kernel.js";
export { Arena, typeIdByCName } from "./arena-view.js";
export { LoadedObject, LoadedMap, LoadedProgram, type DataAccess } from "./loaded.js";
export { AttachError, type AttachErrorCode, LoadError, type LoadErrorCode } from "./errors.js";
export { NetlinkAttachment } from "./netlink-attachment.js";
export { PerfEventAttachment } from "./perf-attachment.js";
export { CgroupAttachment, SocketFilterAttachment } from "./fd-attachments.js";
export { attachProgram, Link, linkKind, openPinnedLink, type AttachableProgram, type Attachment, type AttachVia, type AttachPoint, type ChainAnchor, type InterfaceRef, type LinkKind } from "./attach.js";
export { openPinnedMap } from "./pinned.js";
export { replaceProgram, type CarriedGlobal, type Replacement, type ReplaceOptions } from "./replace.js";
export { listPrograms, openProgram, LiveProgram, METADATA_PREFIX, type LiveMap, type ProgramSummary } from "./kernel-programs.js";
export { LoadedStructOps, type StructOpsRegistration } from "./loaded-struct-ops.js";
export { objectTestLoader, testEnvironment } from "./test-load.js";
