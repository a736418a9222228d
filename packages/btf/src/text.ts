/**
 * Text codecs from the host (every supported runtime has TextDecoder/TextEncoder),
 * typed locally so the package compiles without DOM or Node type libraries.
 *
 * @internal
 * @packageDocumentation
 */
interface TextDecoderLike { decode(bytes: Uint8Array): string }
interface TextEncoderLike { encode(text: string): Uint8Array }
const host = globalThis as unknown as {
  TextDecoder: new (label: string, options?: { fatal?: boolean }) => TextDecoderLike;
  TextEncoder: new () => TextEncoderLike;
};

/** Lenient UTF-8 decoder. */
export const utf8Decoder: TextDecoderLike = new host.TextDecoder("utf-8", { fatal: false });
/** One byte per character decoder (byte offsets equal string indexes). */
export const latin1Decoder: TextDecoderLike = new host.TextDecoder("latin1");
/** UTF-8 encoder. */
export const utf8Encoder: TextEncoderLike = new host.TextEncoder();
