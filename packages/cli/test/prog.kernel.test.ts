/**
 * `xbpf prog` on a program @x loaded, on every kernel of the matrix: list and show (--json shapes),
 * both metadata sections, `--set` reaching the program, and `--watch` reprinting a global the program
 * changes until it is interrupted.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { fixture, haveKernel } from "../../loader/test/kernel.js";
import { xbpf } from "./xbpf.js";

const BIN = fileURLToPath(new URL("../bin/xbpf.cjs", import.meta.url));
const packet = () => new Uint8Array(64);

describe.runIf(haveKernel)("xbpf prog (metadata.bpf.o loaded by @x)", () => {
  it("list --json and show --json: the summary, the metadata of .rodata and .metadata, maps and globals", async () => {
    using obj = openObject(fixture("metadata")).load();
    const id = obj.program("meta").info().id;
    const list = await xbpf("prog", "list", "--json");
    expect(list.code, list.err).toBe(0);
    const entry = (list.json() as Record<string, unknown>[]).find((p) => p.id === id)!;
    expect(Object.keys(entry).sort()).toEqual(["btfId", "gplCompatible", "id", "jitedBytes", "loadedAt", "mapIds", "name", "tag", "type", "uid", "xlatedBytes"]);
    expect(entry).toMatchObject({ name: "meta", type: "socket_filter" });
    const r = await xbpf("prog", "show", String(id), "--json");
    expect(r.code, r.err).toBe(0);
    const j = r.json();
    expect(j).toMatchObject({ id, name: "meta", type: "socket_filter", metadata: { version: "1.2.3", build: 42, owner: "team-x" } });
    expect(j.maps.map((m: { section: string; frozen: boolean }) => [m.section, m.frozen]).sort()).toEqual([[".bss", false], [".data", false], [".metadata", true], [".rodata", true]]);
    expect(j.globals.find((g: { name: string }) => g.name === "counter")).toEqual({ name: "counter", section: ".data", type: "__u64", offset: 0, size: 8, value: 5 });
    const text = await xbpf("prog", "show", String(id));
    expect(text.out).toMatch(/^\d+: socket_filter {2}name meta {2}tag [0-9a-f]{16}/);
    expect(text.out).toMatch(/metadata\n\tversion = "1\.2\.3"\n\tbuild = 42\n\towner = "team-x"/);
  });

  it("--set changes what the program does next; a bad name or value exits 1 with the error's code", async () => {
    using obj = openObject(fixture("metadata")).load();
    const prog = obj.program("meta");
    const r = await xbpf("prog", "show", String(prog.info().id), "--set", "step=100");
    expect(r.code, r.err).toBe(0);
    prog.testRun({ data: packet() });
    expect(obj.variable("counter").get()).toBe(105n);
    const none = await xbpf("prog", "show", String(prog.info().id), "--set", "nope=1", "--json");
    expect([none.code, none.json().error.code]).toEqual([1, "OBJECT_NO_SUCH_VARIABLE"]);
    const usage = await xbpf("prog", "show", "not-an-id");
    expect(usage.code).toBe(2);
  });

  it("--watch reprints a global when the program changes it, until SIGINT (exit 0)", async () => {
    using obj = openObject(fixture("metadata")).load();
    const prog = obj.program("meta");
    const child = spawn(process.execPath, [BIN, "prog", "show", String(prog.info().id), "--watch", "0.1", "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const waiting: (() => void)[] = [];
    child.stdout.on("data", (d) => {
      out += d;
      for (const w of waiting.splice(0)) w();
    });
    child.stderr.on("data", (d) => (err += d));
    const seen = (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`--watch printed no ${re} in 60 s: ...${out.slice(-600)}${err}`)), 60_000);
        const check = () => {
          if (!re.test(out)) return void waiting.push(check);
          clearTimeout(timer);
          resolve();
        };
        check();
      });
    await seen(/"globals"/); // the first full report
    prog.testRun({ data: packet() });
    await seen(/"name":"counter","section":".data","value":6,"was":"5"/);
    const code = new Promise<number | null>((resolve) => child.on("exit", resolve));
    child.kill("SIGINT");
    expect(await code).toBe(0);
    expect(out).toMatch(/"name":"runs","section":".bss","value":1,"was":"0"/);
  }, 90_000);
});
