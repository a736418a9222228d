// Types of tools/selftests-corpus.mjs's exports (for the tests under tsc).

/** The cache folder: $XBPF_SELFTESTS_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/xbpf-selftests. */
export function defaultCacheDir(): string;
/** What the build needs and this machine lacks (empty when nothing is missing), each with its Debian package. */
export function missingPrerequisites(tarball?: string): string[];
/** Build (or find in the cache) the corpus, or the files of `only`; returns its folder (obj/, manifest.json, harness). */
export function buildCorpus(options?: { tarball?: string; cache?: string; only?: readonly string[] }): Promise<string>;
