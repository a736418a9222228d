/**
 * `@x/sys`: the only package of @x that talks to the kernel. bpf(2) commands with typed
 * options, owned fd handles, verifier/BTF logs on failure, mmap of array maps, and cached
 * feature probes. It knows nothing about ELF; every `bpf_attr` and info struct is declared
 * once as a layout (see `abi/`).
 *
 * @packageDocumentation
 */
export { bpf, bpfRaw, type BpfResult } from "./syscall.js";
export {
  BpfSyscallError,
  UnsupportedFeatureError,
  FdClosedError,
  MappedMemoryError,
  SyscallError,
  KallsymsError,
  KconfigError,
  KernelVersionError,
  type MappedMemoryErrorCode,
  type KallsymsErrorCode,
  type KconfigErrorCode,
} from "./errors.js";
export { BpfFd, MapFd, ProgFd, BtfFd, LinkFd, adoptFd, dupFd, rawFd, fdStats, type FdKind, type FdLike, type FdStats } from "./fd.js";
export {
  mapCreate,
  mapLookup,
  mapUpdate,
  mapDelete,
  mapGetNextKey,
  mapKeys,
  mapFreeze,
  type MapCreateOptions,
} from "./map.js";
export {
  progLoad,
  progTestRun,
  progBindMap,
  type ProgLoadOptions,
  type ProgTestRunOptions,
  type ProgTestRunResult,
  type ExtInfo,
} from "./prog.js";
export { btfLoad, type BtfLoadOptions } from "./btf.js";
export { MAX_LOG_SIZE, INITIAL_LOG_SIZE } from "./log.js";
export {
  objPin,
  objGet,
  ObjGetFlags,
  progInfo,
  progXlatedInsns,
  mapInfo,
  btfInfo,
  objGetInfoByFd,
  progGetNextId,
  mapGetNextId,
  btfGetNextId,
  progGetFdById,
  mapGetFdById,
  btfGetFdById,
  mapFdInfo,
  type MapFdInfo,
  type ProgInfo,
  type MapInfo,
  type BtfInfo,
  type ObjInfo,
} from "./obj.js";
export { mmapAt, mmapMap, mmapSize, mappingCount, MappedMemory, type MmapAtOptions, type MmapOptions } from "./mmap.js";
export { pageSize } from "./native.js";
export {
  FEATURES,
  probeFeature,
  probeAll,
  hasFeature,
  requireFeature,
  type FeatureName,
  type FeatureInfo,
  type ProbeResult,
} from "./probes/features.js";
export {
  classifyProbeError,
  MISSING_ERRNOS,
  ProbeInconclusiveError,
  type ClassifyOptions,
  type ProbeOutcome,
  type ProbeStatus,
} from "./probes/outcome.js";
export {
  kernelVersion,
  parseKernelVersion,
  compareKernelVersions,
  kernelVersionCode,
  libbpfKernelVersion,
  libbpfKernelVersionCode,
  libbpfKernelVersionFrom,
  libbpfKernelVersionCache,
  VERSION_SIGNATURE_PATH,
  type KernelVersion,
  type LibbpfKernelVersion,
  type LibbpfKernelVersionInputs,
  type LibbpfKernelVersionSource,
} from "./probes/kernel-version.js";
export { buildBtf, BtfHeaderLayout } from "./probes/btf-blob.js";
export { objName } from "./util.js";
export * from "./abi/consts.js";
export { Errno, errnoName, type ErrnoName } from "./abi/errno.js";
export * from "./abi/attr.js";
export * from "./abi/info.js";
export * from "./abi/netlink.js";
export * from "./abi/perf.js";
export {
  linkCreate, linkDetach, linkGetFdById, linkInfo, linkUpdate, progAttach, progDetach, rawTracepointOpen,
  type LinkCreateOptions, type LinkInfo, type ProgAttachOptions,
} from "./link.js";
export {
  NetlinkError, tcClsactAdd, tcFilterAttach, tcFilterDetach, tcFilterProgramId, xdpProgramId, xdpSet, type TcDirection, type TcFilterRef,
} from "./netlink.js";
export {
  openKprobeEvent, openTracepointEvent, openUprobeEvent, PerfEventError, PerfEventFd, perfEventSetBpf, probePmu, tracefsRoot, tracepointId, type PerfEventErrorCode,
} from "./perf.js";
export {
  LoaderProgramError, loaderProgramFromJson, loaderProgramToJson, runLoaderProgram,
  type AttrTemplate, type LoaderContextLayout, type LoaderProgram, type LoaderProgramErrorCode, type LoaderProgramMap, type LoaderProgramResult, type LoaderProgramStep, type LoaderRunOptions,
} from "./loader-program.js";
export { attachSocketFilter, detachSocketFilter, enterNetns, interfaceIndex, netnsPath } from "./netns.js";
export {
  probeProgType,
  probeAttachType,
  probeProgTypes,
  PROG_TYPE_MIN_KERNEL,
  ATTACH_TYPE_MIN_KERNEL,
  type TypeProbeResult,
} from "./probes/types.js";
export { findFuncIds, findKernelFuncIds } from "./probes/vmlinux-funcs.js";
export { FileCache, VMLINUX_BTF_PATH, vmlinuxBtfBytes, vmlinuxBtfCache } from "./kernel/vmlinux.js";
export { ProcessCache } from "./kernel/cache.js";
export { Capability, effectiveCapabilities, hasAllBpfCapabilities } from "./kernel/capabilities.js";
export {
  KALLSYMS_PATH,
  Kallsyms,
  kallsyms,
  kallsymsAddress,
  kallsymsCache,
  parseKallsyms,
  hiddenAddressesError,
  type KallsymsSymbol,
} from "./kernel/kallsyms.js";
export {
  PROC_CONFIG_GZ_PATH,
  bootConfigPath,
  kernelConfig,
  kernelConfigCache,
  kernelConfigText,
  readKernelConfig,
  type KernelConfig,
} from "./kernel/kconfig.js";
export {
  kernelBtfObjects,
  kernelModuleBtfs,
  openBtfById,
  moduleBtfCache,
  ModuleBtfCache,
  type KernelBtfObject,
  type KernelModuleBtf,
} from "./kernel/module-btf.js";
