/**
 * The running kernel's configuration text, read at most once per process, for `__kconfig`
 * externs (`extern int CONFIG_HZ __kconfig;`).
 *
 * Where it comes from is libbpf's `bpf_object__read_kconfig_file`: `/boot/config-$(uname -r)`
 * first, else `/proc/config.gz` (`CONFIG_IKCONFIG_PROC`); either may be gzip-compressed or plain
 * (libbpf opens both with `gzopen`, which takes both). Splitting and typing the values is the
 * loader's job (`@x/loader`'s kconfig module), as it knows each extern's C type.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { gunzipSync } from "node:zlib";
import { KconfigError } from "../errors.js";
import { ProcessCache } from "./cache.js";

/** The in-kernel copy of the configuration (`CONFIG_IKCONFIG_PROC`). */
export const PROC_CONFIG_GZ_PATH = "/proc/config.gz";

/** The configuration of the running kernel as installed with it: `/boot/config-$(uname -r)`. */
export function bootConfigPath(kernelRelease: string = release()): string {
  return `/boot/config-${kernelRelease}`;
}

/** The running kernel's configuration text and the file it was read from. */
export interface KernelConfig {
  /** The file read: `/boot/config-…` or `/proc/config.gz`. */
  readonly path: string;
  /** The text (decompressed). */
  readonly text: string;
}

const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/**
 * Read the first of `paths` that can be read, gunzipping it when it is gzip data (pure but for
 * the reads; {@link kernelConfig} passes libbpf's two paths).
 * @throws {@link KconfigError} `KCONFIG_UNREADABLE` naming every path and why it failed.
 */
export function readKernelConfig(paths: readonly string[] = [bootConfigPath(), PROC_CONFIG_GZ_PATH]): KernelConfig {
  const attempts: { path: string; error: string }[] = [];
  for (const path of paths) {
    try {
      const raw = readFileSync(path);
      const bytes = isGzip(raw) ? gunzipSync(raw) : raw;
      return { path, text: bytes.toString("utf8") };
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      attempts.push({ path, error: typeof code === "string" ? code : (e as Error).message.split("\n")[0]! });
    }
  }
  const tried = attempts.map((a) => `${a.path} (${a.error})`).join(", ");
  throw new KconfigError(
    "KCONFIG_UNREADABLE",
    `cannot read the running kernel's configuration: tried ${tried}; CONFIG_ externs need the kernel's config installed in /boot or built in (CONFIG_IKCONFIG_PROC)`,
    { attempts },
  );
}

/**
 * The process-wide cache of the running kernel's configuration, read on first use. A failed read
 * is not cached.
 */
export const kernelConfigCache: ProcessCache<KernelConfig> = new ProcessCache("the kernel configuration", () => readKernelConfig());

/**
 * The running kernel's configuration, read once per process ({@link kernelConfigCache}).
 * @throws {@link KconfigError} `KCONFIG_UNREADABLE` when neither `/boot/config-$(uname -r)` nor `/proc/config.gz` can be read.
 */
export function kernelConfig(): KernelConfig {
  return kernelConfigCache.get();
}

/** The text of the running kernel's configuration ({@link kernelConfig}). */
export function kernelConfigText(): string {
  return kernelConfig().text;
}
