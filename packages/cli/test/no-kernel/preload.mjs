// `node --import ./preload.mjs …`: a process where the kernel layer cannot load. koffi (native code)
// is unresolvable for require() and import alike, and importing @x/sys's main entry throws, so
// whatever still works here provably never touches either.
import Module, { register } from "node:module";

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === "koffi") throw Object.assign(new Error("koffi is not available in this process"), { code: "MODULE_NOT_FOUND" });
  return resolveFilename.call(this, request, ...rest);
};
register("./hooks.mjs", import.meta.url);
