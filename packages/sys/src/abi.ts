/**
 * `@x/sys/abi`: the bpf(2) ABI as plain data (enum constants, errno names, `bpf_attr` and info
 * layouts). Pure: importing it loads no native code, so code that only opens or patches objects
 * (`openObject`, `xbpf inspect`, `xbpf patch`) can use the constants without the kernel layer.
 *
 * @packageDocumentation
 */
export * from "./abi/consts.js";
export { Errno, errnoName, type ErrnoName } from "./abi/errno.js";
export * from "./abi/attr.js";
export * from "./abi/info.js";
export * from "./abi/netlink.js";
export * from "./abi/perf.js";
