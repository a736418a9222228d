// The `xbpf` executable itself (bin/xbpf.cjs → dist/bundle), spawned as a user runs it: the bundle gives
// the same answers as the modules the other tests call in-process, and a reader that goes away ends
// the output quietly.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { xbpf } from "./xbpf.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const bin = join(root, "packages/cli/bin/xbpf.cjs");
const example = join(root, "fixtures/obj/example.bpf.o");

describe("the xbpf executable", () => {
  it("inspect --json: the bundle prints what the modules print", async () => {
    const r = spawnSync(process.execPath, [bin, "inspect", example, "--json"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual((await xbpf("inspect", example, "--json")).json());
  });

  it("usage errors exit 2", () => {
    const r = spawnSync(process.execPath, [bin, "no-such-command"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'no-such-command'/);
  });

  it("a closed pipe on stdout (`xbpf inspect … | true`) exits 0 with nothing on stderr", () => {
    // `true` exits without reading, so the write meets a closed pipe (EPIPE).
    const r = spawnSync("bash", ["-c", `"$0" "$1" inspect "$2" | true; echo "status \${PIPESTATUS[0]}"`, process.execPath, bin, example], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("status 0");
  });
});
