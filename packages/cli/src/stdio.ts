/**
 * Line writers for stdout and stderr that write the file descriptor directly (`writeSync`), so that a
 * short command never loads Node's stream machinery: `process.stdout` pulls in node:stream and its
 * dependencies, about a twentieth of a cold start. A reader that has gone away (`xbpf … | head`)
 * ends the process quietly with the exit code so far, as command-line tools do on EPIPE.
 */
import { writeSync } from "node:fs";

type Stream = NodeJS.WriteStream;

/** A writer of lines to `fd` (1 or 2); `stream` is `process.stdout`/`process.stderr`, used only when the fd would block. */
export function lineWriter(fd: 1 | 2, stream: () => Stream): (s: string) => void {
  let fallback: Stream | undefined;
  const closed = () => process.exit(process.exitCode ?? 0);
  return (s) => {
    const text = `${s}\n`;
    if (fallback) {
      fallback.write(text);
      return;
    }
    const bytes = Buffer.from(text);
    for (let done = 0; done < bytes.byteLength; ) {
      try {
        done += writeSync(fd, bytes, done);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EPIPE") closed();
        if (code !== "EAGAIN") throw e;
        // A non-blocking descriptor that is full: the stream waits for it, in order, from here on.
        fallback = stream();
        fallback.on("error", (err: NodeJS.ErrnoException) => {
          if (err.code === "EPIPE") closed();
          else throw err;
        });
        fallback.write(bytes.subarray(done));
        return;
      }
    }
  };
}

/** The CLI's default stdout writer. */
export const stdoutLine: (s: string) => void = lineWriter(1, () => process.stdout);
/** The CLI's default stderr writer. */
export const stderrLine: (s: string) => void = lineWriter(2, () => process.stderr);
