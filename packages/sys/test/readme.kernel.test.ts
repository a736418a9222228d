// The README example runs on the running kernel and prints what its comments say.
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { runReadmeExample } from "../../../tools/test/readme-example.js";
import { haveKernel } from "./kernel.js";

test.runIf(haveKernel)("the README example runs and prints what it says", async () => {
  const logs = await runReadmeExample(fileURLToPath(new URL("../README.md", import.meta.url)), { fence: "js" });
  expect(logs[0]).toEqual([42n]);
  expect(logs[1]).toEqual([42]);
  expect(logs[2]!.slice(0, 2)).toEqual(["BPF_PROG_LOAD", "EACCES"]);
  expect(logs[2]![2]).toMatch(/R0 !read_ok/);
  expect(logs).toHaveLength(3);
});
