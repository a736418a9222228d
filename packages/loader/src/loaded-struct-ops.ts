/**
 * A loaded struct_ops map and its registration (libbpf `bpf_map__attach_struct_ops`): the value (the
 * kernel struct with the programs' fds) goes into the map, which for a `.struct_ops` map registers it
 * (a TCP congestion control becomes available by its name); a `.struct_ops.link` map (Linux 6.4) is
 * registered by a link instead, and unregistered when the link closes.
 */
import { BpfSyscallError, FEATURES, linkCreate, type LinkFd, mapDelete, mapUpdate, UnsupportedFeatureError } from "@x/sys";
import { AttachType, MapFlags } from "@x/sys/abi";
import { LoadError } from "./errors.js";
import type { LoadedMap } from "./loaded.js";

const KEY0 = new Uint8Array(4);

/** A registered struct_ops: dispose it to unregister (close the link, or delete the map's value). */
export interface StructOpsRegistration extends Disposable {
  /** The link, for a `.struct_ops.link` map. */
  readonly link: LinkFd | undefined;
  /** Unregister. Idempotent. */
  unregister(): void;
}

/** A struct_ops map of a loaded object. */
export class LoadedStructOps {
  /** @internal */
  constructor(
    readonly map: LoadedMap,
    /** The value registration writes: `struct bpf_struct_ops_NAME` with the programs' fds. */
    readonly value: Uint8Array,
    private readonly object: string,
  ) {}

  get name(): string {
    return this.map.name;
  }

  /** Whether registration goes through a link (a `.struct_ops.link` map). */
  get usesLink(): boolean {
    return (this.map.spec.flags & MapFlags.BPF_F_LINK) !== 0;
  }

  /**
   * Register it with the kernel: update the map with its value, then (for a `.struct_ops.link` map)
   * create the struct_ops link. A link map already updated once answers EBUSY, which is fine (libbpf).
   */
  register(): StructOpsRegistration {
    const where = { object: this.object, map: this.name };
    try {
      mapUpdate(this.map.fd, KEY0, this.value);
    } catch (e) {
      if (!(this.usesLink && e instanceof BpfSyscallError && e.errnoName === "EBUSY")) {
        const sys = e as BpfSyscallError;
        throw new LoadError("LOAD_MAP", `struct_ops map '${this.name}': registering it failed: ${sys.message}`, { ...where, command: sys.command, errnoName: sys.errnoName }, { cause: e });
      }
    }
    let link: LinkFd | undefined;
    if (this.usesLink) {
      try {
        link = linkCreate(this.map.fd, { target: 0, attachType: AttachType.STRUCT_OPS });
      } catch (e) {
        const sys = e as BpfSyscallError;
        if (sys.errnoName === "EINVAL" || sys.errnoName === "EOPNOTSUPP") {
          throw new UnsupportedFeatureError("struct_ops_link", FEATURES.struct_ops_link.minKernel, `struct_ops map '${this.name}' is in .struct_ops.link: ${FEATURES.struct_ops_link.description} (BPF_LINK_CREATE answered ${sys.errnoName})`);
        }
        throw new LoadError("LOAD_MAP", `struct_ops map '${this.name}': BPF_LINK_CREATE failed: ${sys.message}`, { ...where, command: sys.command, errnoName: sys.errnoName }, { cause: e });
      }
    }
    let done = false;
    const fd = this.map.fd;
    return {
      link,
      unregister() {
        if (done) return;
        done = true;
        if (link) link.close();
        else mapDelete(fd, KEY0);
      },
      [Symbol.dispose]() {
        this.unregister();
      },
    };
  }
}
