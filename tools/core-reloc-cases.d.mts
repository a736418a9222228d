// Types of tools/core-reloc-cases.mjs's exports (for tools/test/core-reloc.ts under tsc).

/** The cache folder: $XBPF_CORE_RELOC_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/xbpf-core-reloc. */
export function defaultCacheDir(): string;
/** What the build needs and this machine lacks (empty when nothing is missing), each with its Debian package. */
export function missingPrerequisites(tarball?: string): string[];
/** The cached build folder for this tarball, compilers and script, found without decompressing anything. */
export function findBuild(options?: { tarball?: string; cache?: string }): string | undefined;
/** The build folder: from the cache, or built now (throws when a prerequisite is missing). */
export function ensureBuild(options?: { tarball?: string; cache?: string; rebuild?: boolean }): Promise<{ dir: string; cached: boolean }>;
