// Reference figures: libbpf (Debian's libbpf-dev) opening, loading and closing the same objects
// @x is measured on, in the same run. Prints one JSON line per run: medians in microseconds.
//
//   open FILE N       bpf_object__open_mem + bpf_object__close
//   load FILE N       bpf_object__open_mem + bpf_object__load + bpf_object__close
//   vmlinux FILE N    btf__new on the bytes of FILE (e.g. /sys/kernel/btf/vmlinux) + btf__free
//   initval FILE N    template, skeleton style: open, write cfg.blocked_port = 8080 into the
//                     .rodata initial image (bpf_map__initial_value), load; close untimed
//   recompile SRC N   template, recompile: copy SRC with `.blocked_port = 53` edited to 8080,
//                     clang-19 -O2 -g -target bpf, open the new object, load; close untimed
//
// Every mode runs max(3, N/10) untimed warm-up iterations first. The template modes check once,
// after timing, that the loaded program drops a UDP packet to port 8080 (BPF_PROG_TEST_RUN).
//
// Time spent inside bpf(2) is measured by interposing libc's syscall(): libbpf issues every bpf
// command through it, and this executable is linked with -rdynamic so its definition wins.
#define _GNU_SOURCE
#include <bpf/libbpf.h>
#include "bench-util.h"
#include <bpf/btf.h>
#include <bpf/bpf.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

static long long in_bpf_ns, in_bpf_calls;

long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	va_list ap;
	long a[6];
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr != SYS_bpf)
		return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	long long t = now_ns();
	long r = real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	in_bpf_ns += now_ns() - t;
	in_bpf_calls++;
	return r;
}

static int silent(enum libbpf_print_level l, const char *f, va_list ap) { return 0; }

#define PORT 8080
/* Ethernet + IPv4 (UDP) + UDP to port 8080: the example classifier drops it when cfg.blocked_port == 8080. */
static unsigned char packet[] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0x02,
	0x30, 0x3a, 0x1f, 0x90, 0x00, 0x08, 0x00, 0x00,
};

/* cfg.blocked_port = PORT in the .rodata initial image, as a skeleton's `skel->rodata->cfg.blocked_port = …` does. */
static void set_blocked_port(struct bpf_object *obj)
{
	struct btf *btf = bpf_object__btf(obj);
	int sec = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -1;
	if (sec < 0) { fprintf(stderr, "no .rodata DATASEC\n"); exit(1); }
	const struct btf_type *t = btf__type_by_id(btf, sec);
	const struct btf_var_secinfo *vs = btf_var_secinfos(t);
	long off = -1;
	for (int i = 0; i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(btf, btf__type_by_id(btf, vs[i].type)->name_off), "cfg"))
			off = vs[i].offset;
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj) {
		size_t sz;
		const char *name = bpf_map__name(map);
		if (!bpf_map__is_internal(map) || strlen(name) < 7 || strcmp(name + strlen(name) - 7, ".rodata"))
			continue;
		char *img = (char *)bpf_map__initial_value(map, &sz);
		if (off < 0 || !img || off + 2 > (long)sz) break;
		unsigned short port = PORT; /* blocked_port is the first field of struct config */
		memcpy(img + off, &port, 2);
		return;
	}
	fprintf(stderr, "cannot find cfg in .rodata\n");
	exit(1);
}

static void check_drops(struct bpf_object *obj)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, "classify");
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = packet, .data_size_in = sizeof(packet));
	if (!prog || bpf_prog_test_run_opts(bpf_program__fd(prog), &t) || t.retval != 2 /* TC_ACT_SHOT */) {
		fprintf(stderr, "template check failed: the loaded program does not drop port %d\n", PORT);
		exit(1);
	}
}

static char tmpdir[] = "/tmp/libbpf-bench.XXXXXX", tmp_src[64], tmp_obj[64];

/* Write SRC with the configured value edited, compile it with clang-19; returns the object's bytes. */
static void *recompile(const char *src, size_t srclen, size_t *len)
{
	static const char from[] = ".blocked_port = 53";
	const char *at = memmem(src, srclen, from, sizeof(from) - 1);
	if (!at) { fprintf(stderr, "source has no '%s'\n", from); exit(1); }
	FILE *f = fopen(tmp_src, "wb");
	fwrite(src, 1, at - src, f);
	fprintf(f, ".blocked_port = %d", PORT);
	fwrite(at + sizeof(from) - 1, 1, srclen - (at - src) - (sizeof(from) - 1), f);
	fclose(f);
	char *argv[] = { "clang-19", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu",
			 "-c", tmp_src, "-o", tmp_obj, NULL };
	extern char **environ;
	pid_t pid;
	int status;
	if (posix_spawnp(&pid, "clang-19", NULL, NULL, argv, environ) || waitpid(pid, &status, 0) < 0 ||
	    !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "clang-19 failed\n");
		exit(1);
	}
	return read_file(tmp_obj, len);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s open|load|vmlinux|initval|recompile FILE N\n", argv[0]);
		return 2;
	}
	const char *mode = argv[1], *path = argv[2];
	int n = atoi(argv[3]), warm = n / 10 > 3 ? n / 10 : 3;
	int is_load = !strcmp(mode, "load"), is_initval = !strcmp(mode, "initval"), is_recompile = !strcmp(mode, "recompile");
	if (n < 1 || (!is_load && !is_initval && !is_recompile && strcmp(mode, "open") && strcmp(mode, "vmlinux"))) {
		fprintf(stderr, "bad mode or N\n");
		return 2;
	}
	long long *compile_ns = calloc(n, 8), *open_ns = calloc(n, 8), *load_ns = calloc(n, 8);
	long long *close_ns = calloc(n, 8), *bpf_ns = calloc(n, 8), *total_ns = calloc(n, 8), *user_ns = calloc(n, 8);
	long long calls = 0;
	libbpf_set_print(silent);
	size_t len;
	void *bytes = read_file(path, &len);
	if (is_recompile) {
		if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
		snprintf(tmp_src, sizeof(tmp_src), "%s/t.bpf.c", tmpdir);
		snprintf(tmp_obj, sizeof(tmp_obj), "%s/t.bpf.o", tmpdir);
	}

	for (int it = -warm; it <= n; it++) {
		int i = it < 0 || it == n ? 0 : it; /* warm-up and the final check iteration are not recorded */
		int record = it >= 0 && it < n, last = it == n;
		if (last && !is_initval && !is_recompile)
			break;
		long long t0 = now_ns();
		if (!strcmp(mode, "vmlinux")) {
			struct btf *btf = btf__new(bytes, len);
			if (!btf) { fprintf(stderr, "btf__new failed\n"); return 1; }
			long long t1 = now_ns();
			btf__free(btf);
			if (record) { open_ns[i] = t1 - t0; close_ns[i] = now_ns() - t1; total_ns[i] = now_ns() - t0; }
			continue;
		}
		void *obj_bytes = bytes;
		size_t obj_len = len;
		if (is_recompile)
			obj_bytes = recompile(bytes, len, &obj_len);
		long long tc = now_ns();
		LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = NULL);
		struct bpf_object *obj = bpf_object__open_mem(obj_bytes, obj_len, &opts);
		if (!obj) { fprintf(stderr, "open %s failed\n", path); return 1; }
		if (is_initval)
			set_blocked_port(obj);
		long long t1 = now_ns();
		in_bpf_ns = 0;
		in_bpf_calls = 0;
		if (strcmp(mode, "open") && bpf_object__load(obj)) { fprintf(stderr, "load %s failed\n", path); return 1; }
		long long t2 = now_ns();
		long long b = in_bpf_ns;
		calls = in_bpf_calls;
		if (last)
			check_drops(obj);
		bpf_object__close(obj);
		long long t3 = now_ns();
		if (obj_bytes != bytes)
			free(obj_bytes);
		if (!record)
			continue;
		compile_ns[i] = tc - t0;
		open_ns[i] = t1 - tc;
		load_ns[i] = t2 - t1;
		close_ns[i] = t3 - t2;
		bpf_ns[i] = b;
		/* Template modes: time until the new program is loaded; the others: the whole open-load-close cycle. */
		total_ns[i] = (is_initval || is_recompile) ? t2 - t0 : t3 - t0;
		user_ns[i] = total_ns[i] - b;
	}
	if (is_recompile) {
		unlink(tmp_src);
		unlink(tmp_obj);
		rmdir(tmpdir);
	}
	printf("{\"mode\":\"%s\",\"file\":\"%s\",\"n\":%d,\"compile_us\":%.1f,\"open_us\":%.1f,\"load_us\":%.1f,"
	       "\"close_us\":%.1f,\"bpf_us\":%.1f,\"total_us\":%.1f,\"user_us\":%.1f,\"bpf_calls\":%lld}\n",
	       mode, path, n, median_us(compile_ns, n), median_us(open_ns, n), median_us(load_ns, n),
	       median_us(close_ns, n), median_us(bpf_ns, n), median_us(total_ns, n), median_us(user_ns, n), calls);
	return 0;
}
