// Reference for the replace benchmark: libbpf doing the template workflow the way C programs do
// without @x, from a new configuration value to the new program live on K tc attachments.
//
//   libbpf-replace SRC NETNS K N PINROOT
//
// Inside network namespace NETNS (its interfaces xb0..xb{K-1}), each iteration writes a copy of SRC
// with `version = 0` edited to the iteration's number, compiles it with clang-19 -O2 -g -target bpf,
// opens it (maps pinned by name under PINROOT), loads only `count_tc`, and makes each of the K tcx
// links run it (bpf_link_update, which bpf_link__update_program wraps; libbpf 1.1 has no tcx attach
// API, so the links are made with bpf_link_create and BPF_TCX_INGRESS). Closing the previous version
// is not timed. max(3, N/10) untimed warm-up iterations come first. Prints one JSON line: medians in us.
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench-util.h"
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TCX_INGRESS 46 /* BPF_TCX_INGRESS: newer than Debian's libbpf 1.1 headers */

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s SRC NETNS K N PINROOT\n", argv[0]);
		return 2;
	}
	const char *srcpath = argv[1], *netns = argv[2], *pinroot = argv[5];
	int k = atoi(argv[3]), n = atoi(argv[4]), warm = n / 10 > 3 ? n / 10 : 3;
	char path[256];
	snprintf(path, sizeof(path), "/run/netns/%s", netns);
	int nsfd = open(path, O_RDONLY);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET)) { perror(path); return 1; }
	int *ifindex = calloc(k, sizeof(int)), *links = calloc(k, sizeof(int));
	for (int i = 0; i < k; i++) {
		char name[IF_NAMESIZE];
		snprintf(name, sizeof(name), "xb%d", i);
		if (!(ifindex[i] = if_nametoindex(name))) { perror(name); return 1; }
		links[i] = -1;
	}
	libbpf_set_print(silent);
	size_t srclen;
	char *src = read_file(srcpath, &srclen);
	static const char from[] = "version = 0";
	char *at = memmem(src, srclen, from, sizeof(from) - 1);
	if (!at) { fprintf(stderr, "source has no '%s'\n", from); return 1; }
	char dir[] = "/tmp/libbpf-replace.XXXXXX", tsrc[64], tobj[64];
	if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
	snprintf(tsrc, sizeof(tsrc), "%s/t.bpf.c", dir);
	snprintf(tobj, sizeof(tobj), "%s/t.bpf.o", dir);
	long long *total = calloc(n, 8), *compile = calloc(n, 8), *load = calloc(n, 8), *update = calloc(n, 8);
	struct bpf_object *prev = NULL;
	for (int it = -warm; it < n; it++) {
		long long t0 = now_ns();
		FILE *f = fopen(tsrc, "wb");
		fwrite(src, 1, at - src, f);
		fprintf(f, "version = %d", it + warm + 1);
		fwrite(at + sizeof(from) - 1, 1, srclen - (at - src) - (sizeof(from) - 1), f);
		fclose(f);
		char *cc[] = { "clang-19", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c", tsrc, "-o", tobj, NULL };
		extern char **environ;
		pid_t pid;
		int status;
		if (posix_spawnp(&pid, "clang-19", NULL, NULL, cc, environ) || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "clang-19 failed\n");
			return 1;
		}
		long long tc = now_ns();
		size_t len;
		char *bytes = read_file(tobj, &len);
		LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pinroot);
		struct bpf_object *obj = bpf_object__open_mem(bytes, len, &opts);
		if (!obj) { fprintf(stderr, "open failed\n"); return 1; }
		struct bpf_program *p;
		bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), "count_tc"));
		if (bpf_object__load(obj)) { fprintf(stderr, "load failed\n"); return 1; }
		int prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "count_tc"));
		long long tl = now_ns();
		for (int i = 0; i < k; i++) {
			if (links[i] < 0) {
				links[i] = bpf_link_create(prog, ifindex[i], TCX_INGRESS, NULL);
				if (links[i] < 0) { fprintf(stderr, "tcx link on xb%d failed: %d\n", i, links[i]); return 1; }
			} else if (bpf_link_update(links[i], prog, NULL)) {
				fprintf(stderr, "bpf_link_update failed\n");
				return 1;
			}
		}
		long long t2 = now_ns();
		free(bytes);
		if (prev)
			bpf_object__close(prev);
		prev = obj;
		if (it < 0)
			continue;
		total[it] = t2 - t0;
		compile[it] = tc - t0;
		load[it] = tl - tc;
		update[it] = t2 - tl;
	}
	for (int i = 0; i < k; i++) close(links[i]);
	bpf_object__close(prev);
	unlink(tsrc);
	unlink(tobj);
	rmdir(dir);
	printf("{\"k\":%d,\"n\":%d,\"total_us\":%.1f,\"compile_us\":%.1f,\"load_us\":%.1f,\"update_us\":%.1f}\n",
	       k, n, median_us(total, n), median_us(compile, n), median_us(load, n), median_us(update, n));
	return 0;
}
