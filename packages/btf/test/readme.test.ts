import { expect, test } from "vitest";
import { runReadmeExample } from "../../../tools/test/readme-example.js";
import { repo } from "./helpers.js";

test("the README example runs and prints what it says", async () => {
  const calls = await runReadmeExample(`${repo}packages/btf/README.md`, { fence: "ts", cwd: repo });
  const logs = calls.map((a) => a.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(" "));
  expect(logs).toContain('const volatile struct limits cfg_limits = {"kind":2,"rate":1000,"burst":64,"window":"1000000n"}');
  expect(logs).toContain('const volatile char[16] cfg_name = "globals"');
  expect(logs).toContain("BTF_VALUE_RANGE cfg_limits.rate: 4294967296 is out of range for u32 (0..4294967295)");
  expect(logs).toContain('[".text","tc","socket"]');
  expect(logs).toContain("true __u32 *(__u32 rate)");
  expect(logs).toContain("[9] unsigned int vs [110] __u32 *: INT vs PTR");
});
