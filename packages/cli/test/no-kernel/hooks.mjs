// Module resolution hooks for preload.mjs (they run on the loader thread).
const SYS_MAIN = /\/packages\/sys\/(dist|src)\/index\.[jt]s$/;

export async function resolve(specifier, context, next) {
  if (specifier === "koffi") throw new Error("koffi is not available in this process");
  const r = await next(specifier, context);
  if (SYS_MAIN.test(r.url)) throw new Error(`the kernel layer (@x/sys) was imported by ${context.parentURL ?? "the entry"}`);
  return r;
}
