export * from "./types.js";
export * from "./layout.js";
export { XError, isXError, ERROR_LOCATION_KEYS, type ErrorLocation, type XErrorJson } from "./error.js";
export { ElfError, type ElfErrorCode } from "./errors.js";
export { ElfFile, type ElfHeader } from "./file.js";
export { machineName } from "./machine.js";
export { functionFileOffset, functionSymbols, type FunctionSymbol } from "./functions.js";
export { replaceSectionData, type WritableFile } from "./writer.js";
export { Elf64_Ehdr, Elf64_Shdr, Elf64_Sym, Elf64_Rel, Elf64_Rela, Elf64_Word, ElfConst, type LayoutRecord } from "./records.js";
