export * from "./types.js";
export * from "./layout.js";
