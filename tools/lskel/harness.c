/*
 * Loads the light skeleton `lskel.h` (bpftool gen skeleton -L OBJ name SKEL, compiled with -DSKEL=SKEL by build.mjs) through libbpf's
 * skel_internal.h and prints what it made, one JSON object per line: each map's info (frozen from
 * fdinfo) and each program's xlated instructions as hex, map ids given so they can be named.
 * With a count N as argument, loads and destroys it N times instead and prints the median in µs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include "bench-util.h" /* bench/c: the clock and the median the bench harnesses use */
#include "lskel.h"

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define skel_open_and_load CAT(SKEL, __open_and_load)
#define skel_destroy CAT(SKEL, __destroy)

static int frozen(int fd)
{
	char path[64], line[128];
	int v = 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "r");
	if (!f) return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "frozen: %d", &v) == 1) break;
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0;
	if (n > 0) {
		long long *t = calloc(n, sizeof(*t));
		for (int i = 0; i < n; i++) {
			long long t0 = now_ns();
			struct SKEL *s = skel_open_and_load();
			if (!s) { fprintf(stderr, "open_and_load: %s\n", strerror(errno)); return 1; }
			skel_destroy(s);
			t[i] = now_ns() - t0;
		}
		printf("{\"median_us\": %.3f}\n", median_us(t, n));
		return 0;
	}
	struct SKEL *s = skel_open_and_load();
	if (!s) { fprintf(stderr, "open_and_load: %s\n", strerror(errno)); return 1; }
	struct bpf_map_desc *maps = (void *)&s->maps;
	for (size_t i = 0; i < sizeof(s->maps) / sizeof(*maps); i++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		if (bpf_obj_get_info_by_fd(maps[i].map_fd, &info, &len)) { perror("map info"); return 1; }
		printf("{\"map\": \"%s\", \"id\": %u, \"type\": %u, \"keySize\": %u, \"valueSize\": %u, \"maxEntries\": %u, \"flags\": %u, \"btf\": %s, \"btfKeyTypeId\": %u, \"btfValueTypeId\": %u, \"frozen\": %s}\n",
		       info.name, info.id, info.type, info.key_size, info.value_size, info.max_entries, info.map_flags,
		       info.btf_id ? "true" : "false", info.btf_key_type_id, info.btf_value_type_id, frozen(maps[i].map_fd) == 1 ? "true" : "false");
	}
	struct bpf_prog_desc *progs = (void *)&s->progs;
	for (size_t i = 0; i < sizeof(s->progs) / sizeof(*progs); i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		if (bpf_obj_get_info_by_fd(progs[i].prog_fd, &info, &len)) { perror("prog info"); return 1; }
		__u32 xlen = info.xlated_prog_len;
		unsigned char *insns = calloc(1, xlen);
		memset(&info, 0, sizeof(info));
		info.xlated_prog_len = xlen;
		info.xlated_prog_insns = (__u64)(unsigned long)insns;
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(progs[i].prog_fd, &info, &len)) { perror("prog xlated"); return 1; }
		printf("{\"prog\": \"%s\", \"type\": %u, \"funcInfo\": %u, \"lineInfo\": %u, \"btf\": %s, \"xlated\": \"", info.name, info.type, info.nr_func_info, info.nr_line_info, info.btf_id ? "true" : "false");
		for (__u32 j = 0; j < xlen; j++) printf("%02x", insns[j]);
		printf("\"}\n");
		free(insns);
	}
	skel_destroy(s);
	return 0;
}
