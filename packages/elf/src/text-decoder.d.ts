// TextDecoder (used by layout.ts for non-ASCII names) is a global in every runtime this package
// targets (Node >= 11, browsers, Deno, Bun), but its type lives in lib.dom / @types/node, neither
// of which a pure package should load. Declare just what is used.
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: Uint8Array): string;
}
