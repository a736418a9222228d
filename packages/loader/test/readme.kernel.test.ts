// The README example runs on the running kernel, from the repository root, and prints what its comments say.
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { runReadmeExample } from "../../../tools/test/readme-example.js";
import { haveKernel } from "./kernel.js";

test.runIf(haveKernel)("the README example runs and prints what it says", async () => {
  const logs = await runReadmeExample(fileURLToPath(new URL("../README.md", import.meta.url)), {
    fence: "js",
    cwd: fileURLToPath(new URL("../../..", import.meta.url)),
  });
  expect(logs).toEqual([[2], [1n], ["mmap"]]);
});
