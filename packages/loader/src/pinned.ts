/** Re-opening a map pinned on a bpffs, by path. */
import { BpfSyscallError, MapFd, mapInfo, objGet } from "@x/sys";
import { LoadError } from "./errors.js";
import { LoadedMap } from "./loaded.js";

/**
 * Open the map pinned at `path` (by this loader, bpftool or any libbpf program). The returned map
 * owns a new fd: dispose it when done. Its spec is rebuilt from the kernel's map info.
 */
export function openPinnedMap(path: string): LoadedMap & Disposable {
  let fd: ReturnType<typeof objGet>;
  try {
    fd = objGet(path);
  } catch (e) {
    const sys = e instanceof BpfSyscallError ? e : undefined;
    throw new LoadError("LOAD_PIN", `cannot open pinned map ${path}: ${(e as Error).message}`, { command: sys?.command, errnoName: sys?.errnoName }, { cause: e });
  }
  if (!(fd instanceof MapFd)) {
    fd.close();
    throw new LoadError("LOAD_PIN", `${path} is pinned but is not a map`);
  }
  const info = mapInfo(fd);
  const map = new LoadedMap({
    name: info.name, origin: "btf", type: info.type, keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries,
    flags: info.flags, numaNode: 0, mapExtra: 0n, pinning: 0, btfKeyTypeId: info.btfKeyTypeId, btfValueTypeId: info.btfValueTypeId,
    mmapable: false, freeze: false,
  }, fd, { pinPath: path });
  return Object.assign(map, { [Symbol.dispose]: () => fd.close() });
}
