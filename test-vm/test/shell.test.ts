// The shell side of the test tooling under `bash -euo pipefail`, as the scripts run: the KVM probe, kernel
// fetching, the host row, apt installs and tools/setup.sh. Every external command that matters (QEMU,
// apt-get, apt-cache, npm, pnpm, id, …) is a fake on PATH, so neither QEMU nor root nor a network is needed.
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const pnpmVersion: string = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")).packageManager.split("@")[1];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

const scratch: string[] = [];
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

/** A scratch folder with a bin/ of fakes that comes first in PATH (removed after the tests). */
function sandbox() {
  const dir = mkdtempSync(join(tmpdir(), "xbpf-shell-"));
  scratch.push(dir);
  const bin = join(dir, "bin");
  mkdirSync(bin);
  const fake = (name: string, body: string) => {
    const p = join(bin, name);
    writeFileSync(p, `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };
  const run = (script: string, env: Record<string, string> = {}, cwd = repo): Run => {
    const base: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("XBPF_")) base[k] = v;
    const r = spawnSync("bash", ["-euo", "pipefail", "-c", script], {
      cwd,
      encoding: "utf8",
      timeout: 50_000,
      env: { ...base, HOME: dir, XBPF_VM_CACHE: join(dir, "cache"), XBPF_VM_RUNS: join(dir, "runs"), ...env, PATH: `${bin}:${process.env.PATH}` },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  return { dir, bin, fake, run };
}

const vmLibs = "source test-vm/lib/common.sh; source test-vm/lib/kernel.sh; source test-vm/lib/boot.sh";

describe("pick_accel (the KVM probe)", () => {
  // QEMU as nested KVM makes it abort on this kind of host. Every call but --version is logged.
  const qemu = (s: ReturnType<typeof sandbox>, behaviour: string, version = "7.2.0") =>
    s.fake(
      "qemu-system-x86_64",
      [
        `if [ "$1" = --version ]; then echo "QEMU emulator version ${version} (fake)"; echo "Copyright (c) fake"; exit 0; fi`,
        `echo "$*" >>${s.dir}/qemu.calls`,
        behaviour,
      ].join("\n"),
    );
  const msrAbort = [
    'echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x20000000000000" >&2',
    "echo \"qemu-system-x86_64: ../target/i386/kvm/kvm.c:3213: kvm_buf_set_msrs: Assertion 'ret == cpu->kvm_msr_buf->nmsrs' failed.\" >&2",
    "kill -ABRT $$",
  ].join("\n");
  // The console file of `-serial file:PATH` gets the marker, as the probe's init would print it.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
  const bootsFine = 'for a in "$@"; do case $a in file:*) echo xbpf-kvm-ok >"${a#file:}" ;; esac; done; exit 0';

  const setup = (s: ReturnType<typeof sandbox>) => {
    writeFileSync(join(s.dir, "kvm"), "");
    writeFileSync(join(s.dir, "busybox"), "not really busybox");
    // The probe packs an initramfs; cpio need not be installed for these tests.
    s.fake("cpio", "cat >/dev/null; echo fake-cpio-archive");
    return `${vmLibs}; kvm_dev=${s.dir}/kvm kvm_probe_busybox=${s.dir}/busybox kvm_probe_timeout=2`;
  };
  const calls = (s: ReturnType<typeof sandbox>) =>
    existsSync(join(s.dir, "qemu.calls")) ? readFileSync(join(s.dir, "qemu.calls"), "utf8").trim().split("\n") : [];

  it("survives QEMU aborting under set -e, says why it uses TCG, and says it again from the cache", () => {
    const s = sandbox();
    qemu(s, msrAbort);
    const libs = setup(s);
    const first = s.run(`${libs}; pick_accel ${s.dir}/vmlinuz; echo "accel=$accel"; echo still running`);
    expect(first.stderr).toContain(
      "test-vm: KVM unusable here (QEMU exit 134: qemu-system-x86_64: error: failed to set MSR 0x10a to 0x20000000000000): using TCG\n",
    );
    expect(first.stdout).toBe("accel=tcg\nstill running\n");
    expect(first.status).toBe(0);
    expect(calls(s)).toHaveLength(1);
    expect(calls(s)[0]).toContain("-accel kvm");
    expect(calls(s)[0]).toContain(`-kernel ${s.dir}/vmlinuz`);
    // bash's "Aborted" line and the probe's scratch folder stay out of sight.
    expect(first.stderr).not.toContain("Aborted");
    expect(existsSync(join(s.dir, "cache", "kvm-probe.d"))).toBe(false);

    const again = s.run(`${libs}; pick_accel ${s.dir}/vmlinuz; echo "accel=$accel"`);
    expect(again.stdout).toBe("accel=tcg\n");
    expect(again.stderr).toContain(`test-vm: KVM unusable here (QEMU exit 134: qemu-system-x86_64: error: failed to set MSR 0x10a`);
    expect(again.stderr).toContain(`): using TCG (cached in ${s.dir}/cache/kvm-probe)\n`);
    expect(calls(s)).toHaveLength(1);
  });

  it("uses KVM when the probe boots and prints its marker, once per run", () => {
    const s = sandbox();
    qemu(s, bootsFine);
    const libs = setup(s);
    const r = s.run(`${libs}; pick_accel ${s.dir}/a; pick_accel ${s.dir}/b; echo "accel=$accel"`);
    expect(r.stdout).toBe("accel=kvm\n");
    expect(r.stderr).toBe("test-vm: KVM works here: using KVM\n");
    expect(calls(s)).toHaveLength(1);
  });

  it("probes again when QEMU's version changed", () => {
    const s = sandbox();
    qemu(s, msrAbort);
    const libs = setup(s);
    expect(s.run(`${libs}; pick_accel ${s.dir}/v; echo "$accel"`).stdout).toBe("tcg\n");
    qemu(s, bootsFine, "8.0.0");
    const r = s.run(`${libs}; pick_accel ${s.dir}/v; echo "$accel"`);
    expect(r.stdout).toBe("kvm\n");
    expect(r.stderr).toBe("test-vm: KVM works here: using KVM\n");
    expect(calls(s)).toHaveLength(2);
  });

  it("uses TCG when QEMU hangs past the probe's time limit", () => {
    const s = sandbox();
    qemu(s, "exec sleep 30");
    const libs = setup(s);
    const r = s.run(`${libs}; kvm_probe_timeout=1; pick_accel ${s.dir}/v; echo "$accel"`);
    expect(r.stdout).toBe("tcg\n");
    expect(r.stderr).toBe("test-vm: KVM unusable here (QEMU did not finish within 1s): using TCG\n");
  });

  it("uses TCG when QEMU exits 0 without the marker, with QEMU's first line", () => {
    const s = sandbox();
    qemu(s, 'echo "qemu-system-x86_64: warning: host doesn\'t support requested feature" >&2; exit 0');
    const libs = setup(s);
    const r = s.run(`${libs}; pick_accel ${s.dir}/v; echo "$accel"`);
    expect(r.stdout).toBe("tcg\n");
    expect(r.stderr).toBe(
      "test-vm: KVM unusable here (QEMU exit 0, but the probe's marker is not on the console: qemu-system-x86_64: warning: host doesn't support requested feature): using TCG\n",
    );
  });

  it("uses TCG without booting anything when there is no KVM device", () => {
    const s = sandbox();
    qemu(s, bootsFine);
    const libs = setup(s);
    const r = s.run(`${libs}; kvm_dev=${s.dir}/no-kvm; pick_accel ${s.dir}/v; echo "$accel"`);
    expect(r.stdout).toBe("tcg\n");
    expect(r.stderr).toBe(`test-vm: no ${s.dir}/no-kvm: using TCG\n`);
    expect(calls(s)).toHaveLength(0);
  });

  it("takes XBPF_VM_ACCEL as given, and refuses a value it does not know", () => {
    const s = sandbox();
    qemu(s, msrAbort);
    const libs = setup(s);
    const forced = s.run(`${libs}; pick_accel ${s.dir}/v; echo "$accel"`, { XBPF_VM_ACCEL: "kvm" });
    expect(forced.stdout).toBe("kvm\n");
    expect(forced.stderr).toBe("test-vm: XBPF_VM_ACCEL=kvm: using KVM\n");
    const bad = s.run(`${libs}; pick_accel ${s.dir}/v; echo "$accel"`, { XBPF_VM_ACCEL: "hvf" });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toBe("test-vm: error: XBPF_VM_ACCEL is 'hvf': kvm or tcg\n");
    expect(calls(s)).toHaveLength(0);
  });
});

describe("kernel fetching", () => {
  // apt-cache answers from files; apt-get update succeeds.
  const apt = (s: ReturnType<typeof sandbox>, search: string[], version = "6.1.176-1") => {
    writeFileSync(join(s.dir, "search"), search.map((p) => `${p} - Linux for 64-bit PCs`).join("\n") + "\n");
    s.fake("apt-get", "exit 0");
    s.fake(
      "apt-cache",
      [
        `for a in "$@"; do case $a in search) cat ${s.dir}/search; exit 0 ;; show) break ;; esac; done`,
        `pkg=\${!#}; printf 'Package: %s\\nVersion: ${version}\\nDepends: linux-base (>= 4.3~), initramfs-tools | linux-initramfs-tool\\n' "$pkg"`,
      ].join("\n"),
    );
  };
  const env = { XBPF_VM_MIRROR: "http://mirror.invalid/debian" };

  it("resolve_kernel picks the newest generic amd64 image, never cloud or rt", () => {
    const s = sandbox();
    apt(s, [
      "linux-image-6.1.0-49-amd64",
      "linux-image-6.1.0-50-amd64",
      "linux-image-6.1.0-50-cloud-amd64",
      "linux-image-6.1.0-50-rt-amd64",
      "linux-image-6.1.0-50-amd64-dbg",
      "linux-image-6.1.0-50-amd64-unsigned",
    ]);
    const r = s.run(`${vmLibs}; suite_update bookworm; resolve_kernel bookworm 6.1`, env);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("linux-image-6.1.0-50-amd64 6.1.176-1\n");
  });

  it("a kernel that does not resolve fails the step with the reason and the run goes on", () => {
    const s = sandbox();
    apt(s, ["linux-image-6.1.0-50-cloud-amd64", "linux-image-6.1.0-50-rt-amd64"]);
    const r = s.run(`${vmLibs}; run_step rc fetch_kernel bookworm 6.1; echo "rc=$rc K_PKG=\${K_PKG:-unset}"`, env);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("rc=1 K_PKG=unset\n");
    expect(r.stderr).toBe("test-vm: error: no generic amd64 kernel image matching '6.1' in bookworm\n");
  });

  it("no mirror in the apt sources is said, not turned into an empty URI", () => {
    const s = sandbox();
    apt(s, ["linux-image-6.1.0-50-amd64"]);
    s.fake("node", 'echo "apt-sources: no Debian archive found in the apt sources of this machine" >&2; exit 1');
    const r = s.run(`${vmLibs}; run_step rc suite_update bookworm; echo "rc=$rc"`);
    expect(r.stdout).toBe("rc=1\n");
    expect(r.stderr).toBe(
      "apt-sources: no Debian archive found in the apt sources of this machine\n" +
        "test-vm: error: no Debian mirror in this machine's apt sources (set XBPF_VM_MIRROR)\n",
    );
  });

  it("run_step keeps errexit in force inside the step and names a command that failed silently", () => {
    const s = sandbox();
    const r = s.run(
      `source test-vm/lib/common.sh; step() { echo one; false; echo two; }; run_step rc step; echo "rc=$rc"; false; echo not reached`,
    );
    expect(r.stdout).toBe("one\nrc=1\n");
    expect(r.stderr).toBe("test-vm: error: `false` failed (exit 1)\n");
    expect(r.status).toBe(1);
  });
});

describe("the host row", () => {
  it("records a failing suite and goes on (pipefail does not end the run)", () => {
    const s = sandbox();
    mkdirSync(join(s.dir, "vm", "guest"), { recursive: true });
    writeFileSync(join(s.dir, "vm", "guest", "suite.sh"), 'echo "1 failed"; echo 1 >"$1/status"; exit 1\n');
    mkdirSync(join(s.dir, "out"));
    const r = s.run(`${vmLibs}; vm_dir=${s.dir}/vm; run_on_host host ${s.dir}/out 60; echo continued`);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("[host] 1 failed\ncontinued\n");
    expect(readFileSync(join(s.dir, "out", "vm.env"), "utf8")).toMatch(/^VM_STATUS=ok\nVM_RC=1\n/);
  });
});

describe("tree_kconfig (where an unpacked kernel keeps its configuration)", () => {
  it("boot/config-KVER, else lib/modules/KVER/config (newer Debian packaging), else nothing", () => {
    const s = sandbox();
    const find = (setup: string) => s.run(`${vmLibs}; t=${s.dir}/t; rm -rf $t; mkdir -p $t/boot $t/lib/modules/7.3; ${setup}; tree_kconfig $t 7.3`);
    expect(find("touch $t/lib/modules/7.3/config").stdout).toBe(`${s.dir}/t/lib/modules/7.3/config\n`);
    expect(find("touch $t/lib/modules/7.3/config $t/boot/config-7.3").stdout).toBe(`${s.dir}/t/boot/config-7.3\n`);
    const none = find(":");
    expect([none.status, none.stdout]).toEqual([0, ""]);
  });
});

describe("the suite's environment", () => {
  it("carries the kernel's module folder to the tests as XBPF_MODULES_DIR", () => {
    const s = sandbox();
    // A fake Node as the suite's NODE: it prints what the tests would see.
    s.fake("node", 'if [ "${1:-}" = --version ]; then echo v0; exit 0; fi\necho "matrix modules=${XBPF_MODULES_DIR-unset} files=${*: -2}"');
    // KCONFIG stays empty here: the suite would copy it into this machine's /boot.
    const env = (out: string, modules: string, kconfig = "''") =>
      s.run(`${vmLibs}; mkdir -p ${out}; write_suite_env ${out} 60 ${modules} ${kconfig} a.kernel.test.ts 'b c.kernel.test.ts'; cat ${out}/suite.env`);
    const vm = env(`${s.dir}/vm`, "/c/kernels/linux-image-6.1_6.1-1/lib/modules/6.1.0-50-amd64");
    expect(vm.status).toBe(0);
    expect(vm.stdout).toContain("MODULES_DIR=/c/kernels/linux-image-6.1_6.1-1/lib/modules/6.1.0-50-amd64\n");
    expect(env(`${s.dir}/host`, "''").stdout).toContain("MODULES_DIR=''\nKCONFIG=''\n");
    expect(env(`${s.dir}/vm2`, "/m", "/c/kernels/t/boot/config-6.1.0-50-amd64").stdout).toContain("KCONFIG=/c/kernels/t/boot/config-6.1.0-50-amd64\n");
    // The suite itself, with every mount point reported as mounted (nothing is mounted on this machine).
    s.fake("mountpoint", "exit 0");
    const suite = (out: string) => s.run(`bash test-vm/guest/suite.sh ${out} | grep '^matrix '; cat ${out}/status`);
    expect(suite(`${s.dir}/vm`).stdout).toBe("matrix modules=/c/kernels/linux-image-6.1_6.1-1/lib/modules/6.1.0-50-amd64 files=a.kernel.test.ts b c.kernel.test.ts\n0\n");
    expect(suite(`${s.dir}/host`).stdout).toBe("matrix modules=unset files=a.kernel.test.ts b c.kernel.test.ts\n0\n");
  });
});

describe("apt installs", () => {
  const root = (s: ReturnType<typeof sandbox>, uid = 0) => {
    s.fake("id", `echo ${uid}`);
    return `source tools/lib/apt.sh`;
  };

  it("say what they install and why, and keep apt quiet when it works", () => {
    const s = sandbox();
    const lib = root(s);
    s.fake("apt-get", `echo "$*" >>${s.dir}/apt.calls; echo "Reading package lists..."`);
    const r = s.run(`${lib}; need_cmd xbpf-no-such-command xbpf-pkg; need_pkg other-pkg ${s.dir}/missing; need_pkg present ${s.dir}; echo done`);
    expect(r.stdout).toBe("done\n");
    expect(r.stderr).toBe(`apt: installing xbpf-pkg (no xbpf-no-such-command on PATH)\napt: installing other-pkg (no ${s.dir}/missing)\n`);
    expect(readFileSync(join(s.dir, "apt.calls"), "utf8")).toBe("update -q\ninstall -y -q xbpf-pkg\ninstall -y -q other-pkg\n");
  });

  it("print apt's output when it fails, and stop the script", () => {
    const s = sandbox();
    const lib = root(s);
    s.fake("apt-get", '[ "$1" = update ] && exit 0; echo "E: Unable to locate package xbpf-pkg" >&2; exit 100');
    const r = s.run(`${lib}; need_cmd xbpf-no-such-command xbpf-pkg; echo not reached`);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "apt: installing xbpf-pkg (no xbpf-no-such-command on PATH)\n" +
        "E: Unable to locate package xbpf-pkg\n" +
        "apt: error: apt-get install xbpf-pkg failed (exit 100; its output is above)\n",
    );
  });

  it("need root", () => {
    const s = sandbox();
    const lib = root(s, 1000);
    s.fake("apt-get", `echo called >>${s.dir}/apt.calls`);
    const r = s.run(`${lib}; need_cmd xbpf-no-such-command xbpf-pkg`);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("apt: installing xbpf-pkg (no xbpf-no-such-command on PATH)\napt: error: need root to install xbpf-pkg\n");
    expect(existsSync(join(s.dir, "apt.calls"))).toBe(false);
  });
});

describe("tools/setup.sh", () => {
  // A copy of setup.sh and its library in a tree of its own, with the pinned pnpm version.
  const tree = (s: ReturnType<typeof sandbox>) => {
    const r = join(s.dir, "repo");
    mkdirSync(join(r, "tools"), { recursive: true });
    cpSync(join(repo, "tools", "setup.sh"), join(r, "tools", "setup.sh"));
    cpSync(join(repo, "tools", "lib"), join(r, "tools", "lib"), { recursive: true });
    cpSync(join(repo, "package.json"), join(r, "package.json"));
    writeFileSync(join(r, "pnpm-lock.yaml"), "lockfileVersion: '9.0'\n");
    // The Debian tools are there (or their installs succeed), as root.
    for (const c of ["clang-19", "llvm-readelf-19", "bpftool", "gcc"]) s.fake(c, "exit 0");
    s.fake("id", "echo 0");
    s.fake("apt-get", "exit 0");
    return r;
  };
  const npmFails = [
    'case "$1 $2" in "prefix -g") echo /fake/prefix; exit 0 ;; esac',
    'echo "npm error code E404" >&2',
    `echo "npm error 404 Not Found - GET pnpm@${pnpmVersion}" >&2`,
    "exit 1",
  ].join("\n");

  it("prints npm's output when installing pnpm fails", () => {
    const s = sandbox();
    const r = tree(s);
    s.fake("pnpm", 'echo "9.15.0"');
    s.fake("npm", npmFails);
    const out = s.run(`bash ${r}/tools/setup.sh`);
    expect(out.status).toBe(1);
    expect(out.stderr).toContain(`setup: installing pnpm ${pnpmVersion} with npm (pnpm on PATH: 9.15.0)\n`);
    expect(out.stderr).toContain("npm error code E404\n");
    expect(out.stderr).toContain(
      `setup: installing pnpm failed: \`npm install -g pnpm@${pnpmVersion}\` exited 1 (output above, also in .cache/npm-install-pnpm.log)\n`,
    );
  });

  it("says where npm put pnpm when that is not the pnpm on PATH", () => {
    const s = sandbox();
    const r = tree(s);
    s.fake("pnpm", 'echo "9.15.0"');
    s.fake("npm", 'case "$1 $2" in "prefix -g") echo /fake/prefix ;; *) echo "added 1 package" ;; esac');
    const out = s.run(`bash ${r}/tools/setup.sh`);
    expect(out.status).toBe(1);
    expect(out.stderr).toContain(
      `setup: npm installed pnpm ${pnpmVersion} into /fake/prefix/bin, but the pnpm on PATH is ${s.bin}/pnpm (version 9.15.0): put /fake/prefix/bin first in PATH\n`,
    );
  });

  it("prints pnpm's output when installing the dependencies fails", () => {
    const s = sandbox();
    const r = tree(s);
    s.fake(
      "pnpm",
      [
        `[ "$1" = --version ] && { echo ${pnpmVersion}; exit 0; }`,
        '[ "$1" = install ] && { echo "Lockfile is up to date"; echo " ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with \\"frozen-lockfile\\"" >&2; exit 1; }',
        "exit 0",
      ].join("\n"),
    );
    const out = s.run(`bash ${r}/tools/setup.sh`);
    expect(out.status).toBe(1);
    expect(out.stderr).toContain("setup: installing dependencies with pnpm (no node_modules)\n");
    expect(out.stderr).toContain('ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with "frozen-lockfile"\n');
    expect(out.stderr).toContain(
      "setup: installing dependencies failed: `pnpm install --frozen-lockfile` exited 1 (output above, also in .cache/pnpm-install.log)\n",
    );
  });

  it("is quiet about a pnpm install and a build that work", () => {
    const s = sandbox();
    const r = tree(s);
    s.fake(
      "pnpm",
      [`[ "$1" = --version ] && { echo ${pnpmVersion}; exit 0; }`, 'echo "Progress: resolved 1, reused 1"; echo " WARN  something" >&2', "exit 0"].join(
        "\n",
      ),
    );
    const out = s.run(`bash ${r}/tools/setup.sh`);
    expect(out.status).toBe(0);
    expect(out.stdout).toBe("");
    // Only what it did, one line each (the apt lines depend on what this machine has installed).
    expect(out.stderr.split("\n").filter((l) => l && !l.startsWith("apt: installing "))).toEqual([
      "setup: installing dependencies with pnpm (no node_modules)",
    ]);
  });
});

describe("scripts", () => {
  it("all parse (bash -n)", () => {
    const s = sandbox();
    const r = s.run("for f in tools/*.sh tools/lib/*.sh test-vm/run.sh test-vm/lib/*.sh .ci/run; do bash -n \"$f\"; done; echo ok");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("ok\n");
  });
});
