// The README example runs (from packages/reloc, as it says) and prints what its comments say.
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { runReadmeExample } from "../../../tools/test/readme-example.js";

const pkg = fileURLToPath(new URL("../", import.meta.url));

test("the README example runs and prints what it says", async () => {
  const logs = (await runReadmeExample(`${pkg}README.md`, { fence: "js", cwd: pkg })).map((a) =>
    a.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(" "),
  );
  expect(logs.slice(0, 3)).toEqual(["4 map counters .maps 0", "10 data cfg_mode .rodata 28", "15 data cfg_u32 .rodata 4"]);
  expect(logs[3]).toBe(JSON.stringify([
    { program: "update_state", section: "tc", from: 41, to: 85, at: 0 },
    { program: "mix", section: ".text", from: 5, to: 10, at: 44 },
    { program: "global_helper", section: ".text", from: 0, to: 5, at: 49 },
  ]));
  expect(logs[4]).toBe(" 0: r2 = map_value(fd 11+0) ll");
  expect(logs[5]).toBe(JSON.stringify([{ insnOff: 0 }, { insnOff: 44 }, { insnOff: 49 }]));
  expect(logs[6]).toBe(["0: r1 = map_value(fd 3+8) ll", "2: *(u64 *)(r1 + 0) = 42", "3: r0 = 0", "4: exit"].join("\n"));
  expect(logs).toHaveLength(7);
});
