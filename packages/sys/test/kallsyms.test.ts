// /proc/kallsyms parsing on synthetic text: libbpf's rules (module symbols count, duplicate names
// with one address are fine and with two are ambiguous, `.llvm.` suffixes of `d` symbols), and the
// all-zero addresses of a reader the kernel hides them from.
import { describe, expect, it } from "vitest";
import { XError } from "@x/elf";
import { hiddenAddressesError, KallsymsError, parseKallsyms, ProcessCache } from "@x/sys";

const TEXT = [
  "ffffffff81000000 T _stext",
  "ffffffff81000000 T _text",
  "ffffffff814d58f0 T bpf_prog_put",
  "ffffffff81234560 t cmp_ex",
  "ffffffff81234990 t cmp_ex",
  "ffffffff82a00010 d bpf_link_fops.llvm.1234567890",
  "ffffffff82a00200 D init_task",
  "ffffffff82a00300 b dup_same",
  "ffffffff82a00300 b dup_same",
  "",
  "ffffffffc0201000 t ftrace_trampoline\t[__builtin__ftrace]",
  "ffffffffc0a01000 t virtrng_probe\t[virtio_rng]",
  "ffffffffc0a02000 T init_task\t[evil]",
  "ffffffffc0a03000 t bpf_prog_6deef7357e7b4530_classify\t[bpf]",
  "",
].join("\n");

describe("parseKallsyms", () => {
  const k = parseKallsyms(TEXT);

  it("reads address, type, name and module; blank lines are skipped", () => {
    expect(k.count).toBe(13);
    expect(k.addressesHidden).toBe(false);
    expect(k.lookup("_stext")).toEqual([{ name: "_stext", address: 0xffffffff81000000n, type: "T" }]);
    expect(k.lookup("virtrng_probe")).toEqual([{ name: "virtrng_probe", address: 0xffffffffc0a01000n, type: "t", module: "virtio_rng" }]);
    expect(k.address("bpf_prog_put")).toBe(0xffffffff814d58f0n);
    expect(k.address("_text")).toBe(0xffffffff81000000n);
  });

  it("no such symbol is undefined, not an error", () => {
    expect(k.address("no_such_symbol")).toBeUndefined();
    expect(k.lookup("no_such_symbol")).toEqual([]);
    expect(k.has("no_such_symbol")).toBe(false);
  });

  it("module symbols resolve like vmlinux ones (libbpf ignores the [module] column), pseudo-modules too", () => {
    expect(k.address("virtrng_probe")).toBe(0xffffffffc0a01000n);
    expect(k.address("ftrace_trampoline")).toBe(0xffffffffc0201000n);
    expect(k.lookup("bpf_prog_6deef7357e7b4530_classify")[0]).toMatchObject({ module: "bpf" });
  });

  it("a name listed twice at one address is one symbol", () => {
    expect(k.lookup("dup_same")).toHaveLength(2);
    expect(k.address("dup_same")).toBe(0xffffffff82a00300n);
  });

  it("a name at two addresses is ambiguous (libbpf: 'resolution is ambiguous'), also across vmlinux and a module", () => {
    let err: unknown;
    try {
      k.address("cmp_ex");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KallsymsError);
    expect(err).toBeInstanceOf(XError);
    expect(err).toMatchObject({ code: "KALLSYMS_AMBIGUOUS", symbol: "cmp_ex", addresses: ["0xffffffff81234560", "0xffffffff81234990"] });
    expect((err as Error).message).toMatch(/kernel symbol 'cmp_ex' is ambiguous in \/proc\/kallsyms: cmp_ex t 0xffffffff81234560, cmp_ex t 0xffffffff81234990/);
    expect(() => k.address("init_task")).toThrow(/init_task T 0xffffffffc0a02000 \[evil\]/);
    expect(k.lookup("init_task").map((s) => s.module)).toEqual([undefined, "evil"]);
    expect(JSON.parse(JSON.stringify(err))).toMatchObject({ code: "KALLSYMS_AMBIGUOUS", symbol: "cmp_ex", path: "/proc/kallsyms" });
  });

  it("an LTO-renamed local data symbol answers to its name before .llvm. (and to its own)", () => {
    expect(k.address("bpf_link_fops")).toBe(0xffffffff82a00010n);
    expect(k.lookup("bpf_link_fops")[0]!.name).toBe("bpf_link_fops.llvm.1234567890");
    expect(k.address("bpf_link_fops.llvm.1234567890")).toBe(0xffffffff82a00010n);
    // Only for type d, as libbpf.
    const t = parseKallsyms("ffffffff81000010 t helper.llvm.42\n");
    expect(t.address("helper")).toBeUndefined();
    expect(t.address("helper.llvm.42")).toBe(0xffffffff81000010n);
  });

  it("all-zero addresses: the kernel hides them; lookups refuse rather than answer 0", () => {
    const hidden = parseKallsyms(
      ["0000000000000000 T _stext", "0000000000000000 T bpf_prog_put", "0000000000000000 t virtrng_probe\t[virtio_rng]"].join("\n"),
      "/tmp/kallsyms",
    );
    expect(hidden.addressesHidden).toBe(true);
    expect(hidden.has("_stext")).toBe(true);
    expect(hidden.lookup("_stext")[0]!.address).toBe(0n);
    let err: unknown;
    try {
      hidden.address("_stext");
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "KALLSYMS_HIDDEN", path: "/tmp/kallsyms" });
    expect((err as Error).message).toMatch(/^\/tmp\/kallsyms lists every address as 0: the kernel hides kernel addresses from this process; reading them needs CAP_SYSLOG/);
    expect(() => hidden.address("no_such_symbol")).toThrow(KallsymsError);
    // One real address among zeros is not hiding (symbols at address 0 exist: per-CPU offsets on x86_64).
    const mixed = parseKallsyms("0000000000000000 A fixed_percpu_data\nffffffff81000000 T _stext\n");
    expect(mixed.addressesHidden).toBe(false);
    expect(mixed.address("fixed_percpu_data")).toBe(0n);
    // The real file's message carries kptr_restrict.
    expect(hiddenAddressesError().message).toMatch(/^\/proc\/kallsyms lists every address as 0/);
    // Nothing listed at all is not hiding.
    expect(parseKallsyms("").addressesHidden).toBe(false);
  });

  it("a malformed line fails the parse (libbpf: -EINVAL), naming the line", () => {
    expect(() => parseKallsyms("ffffffff81000000 T _stext\nnot a kallsyms line\n")).toThrow(
      expect.objectContaining({ code: "KALLSYMS_MALFORMED", line: 2 }),
    );
    expect(() => parseKallsyms("ffffffff81000000 T\n")).toThrow(/\/proc\/kallsyms:1: not "ADDRESS TYPE NAME \[MODULE\]"/);
    expect(() => parseKallsyms("xyz T _stext\n")).toThrow(KallsymsError);
  });
});

describe("ProcessCache", () => {
  it("fills once, does not cache a failure, and can be cleared", () => {
    let calls = 0;
    let fail = true;
    const c = new ProcessCache("test", () => {
      calls++;
      if (fail) throw new Error("not yet");
      return { n: calls };
    });
    expect(c.filled).toBe(false);
    expect(() => c.get()).toThrow("not yet");
    expect(c.filled).toBe(false);
    fail = false;
    const v = c.get();
    expect(c.get()).toBe(v);
    expect(calls).toBe(2);
    expect(c.filled).toBe(true);
    c.clear();
    expect(c.filled).toBe(false);
    expect(c.get()).not.toBe(v);
  });
});
