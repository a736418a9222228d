// The libbpf side of `npm run corpus`: libbpf (the copy in the same kernel source package as the
// selftests, built by tools/selftests-corpus.mjs) driven as @x is driven, one JSON line per answer.
//
//   harness whole OBJ                 open, then load the object as libbpf loads it by default: {"opened":…,"ok":…,"error":…}
//   harness progs OBJ                 each program alone (autoload only it): {"program":…,"ok":…,"error":…} per line
//   harness test OBJ TARGET LEVEL FLAGS BTF RUN [AUX…]
//                                     one annotated test as test_loader.c runs it: TARGET and the AUX programs
//                                     loaded, TARGET with log level LEVEL and extra prog flags FLAGS, BTF the
//                                     btf_custom_path or "-", RUN 1 to BPF_PROG_TEST_RUN it after struct_ops maps
//                                     are attached: {"loaded":…,"log":…,"error":…,"retval":…,"runError":…}
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define LOG_SIZE (2 * 1024 * 1024)
static char log_buf[LOG_SIZE];
static char last_warning[1024];

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_WARN) vsnprintf(last_warning, sizeof(last_warning), fmt, args);
	return 0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') printf("\\%c", c);
		else if (c == '\n') printf("\\n");
		else if (c == '\t') printf("\\t");
		else if (c < 0x20) printf("\\u%04x", c);
		else putchar(c);
	}
	putchar('"');
}

static const char *why(int err)
{
	static char buf[1200];
	size_t n = strlen(last_warning);
	while (n && (last_warning[n - 1] == '\n')) last_warning[--n] = 0;
	snprintf(buf, sizeof(buf), "%s (%s)", last_warning[0] ? last_warning : "libbpf error", strerror(err < 0 ? -err : err));
	return buf;
}

static struct bpf_object *open_obj(const char *path, const char *btf)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf);
	last_warning[0] = 0;
	return bpf_object__open_file(path, &opts);
}

static int cmd_whole(const char *path)
{
	struct bpf_object *obj = open_obj(path, NULL);
	int err = obj ? bpf_object__load(obj) : -errno;
	printf("{\"opened\":%s,\"ok\":%s,\"error\":", obj ? "true" : "false", err ? "false" : "true");
	json_str(err ? why(err) : "");
	printf("}\n");
	bpf_object__close(obj);
	return 0;
}

static int cmd_progs(const char *path)
{
	struct bpf_object *probe = open_obj(path, NULL);
	struct bpf_program *p;
	if (!probe) {
		printf("{\"program\":null,\"ok\":false,\"error\":");
		json_str(why(-errno));
		printf("}\n");
		return 0;
	}
	bpf_object__for_each_program(p, probe) {
		const char *name = bpf_program__name(p);
		struct bpf_object *obj = open_obj(path, NULL);
		struct bpf_program *q;
		int err;
		if (!obj) continue;
		bpf_object__for_each_program(q, obj) bpf_program__set_autoload(q, strcmp(bpf_program__name(q), name) == 0);
		err = bpf_object__load(obj);
		printf("{\"program\":");
		json_str(name);
		printf(",\"ok\":%s,\"error\":", err ? "false" : "true");
		json_str(err ? why(err) : "");
		printf("}\n");
		bpf_object__close(obj);
	}
	bpf_object__close(probe);
	return 0;
}

static int cmd_test(int argc, char **argv)
{
	const char *path = argv[0], *target = argv[1], *btf = strcmp(argv[4], "-") ? argv[4] : NULL;
	int level = atoi(argv[2]), flags = atoi(argv[3]), run = atoi(argv[5]);
	struct bpf_object *obj = open_obj(path, btf);
	struct bpf_program *p, *tprog = NULL;
	struct bpf_link *links[32];
	int nlinks = 0, err, i;
	if (!obj) {
		printf("{\"loaded\":false,\"log\":\"\",\"error\":");
		json_str(why(-errno));
		printf("}\n");
		return 0;
	}
	bpf_object__for_each_program(p, obj) {
		int load = strcmp(bpf_program__name(p), target) == 0;
		if (load) tprog = p;
		for (i = 6; i < argc && !load; i++) load = strcmp(bpf_program__name(p), argv[i]) == 0;
		bpf_program__set_autoload(p, load);
	}
	if (!tprog) {
		printf("{\"loaded\":false,\"log\":\"\",\"error\":\"no such program\"}\n");
		return 0;
	}
	log_buf[0] = 0;
	bpf_program__set_log_buf(tprog, log_buf, LOG_SIZE);
	bpf_program__set_log_level(tprog, level);
	bpf_program__set_flags(tprog, bpf_program__flags(tprog) | flags);
	err = bpf_object__load(obj);
	printf("{\"loaded\":%s,\"log\":", err ? "false" : "true");
	json_str(log_buf);
	printf(",\"error\":");
	json_str(err ? why(err) : "");
	if (!err && run) {
		struct bpf_map *m;
		char in[64] = {0}, out[256];
		LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = in, .data_size_in = sizeof(in), .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
		bpf_object__for_each_map(m, obj) {
			struct bpf_link *l;
			if (!bpf_map__autocreate(m) || bpf_map__type(m) != BPF_MAP_TYPE_STRUCT_OPS || nlinks >= 32) continue;
			l = bpf_map__attach_struct_ops(m);
			if (l) links[nlinks++] = l;
		}
		if (bpf_program__type(tprog) == BPF_PROG_TYPE_SYSCALL) {
			memset(&topts, 0, sizeof(topts));
			topts.sz = sizeof(topts);
		}
		err = bpf_prog_test_run_opts(bpf_program__fd(tprog), &topts);
		if (err) {
			printf(",\"runError\":");
			json_str(strerror(errno));
		} else {
			printf(",\"retval\":%d", (int)topts.retval);
		}
		while (nlinks) bpf_link__destroy(links[--nlinks]);
	}
	printf("}\n");
	bpf_object__close(obj);
	return 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(quiet_print);
	if (argc >= 3 && !strcmp(argv[1], "whole")) return cmd_whole(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "progs")) return cmd_progs(argv[2]);
	if (argc >= 8 && !strcmp(argv[1], "test")) return cmd_test(argc - 2, argv + 2);
	fprintf(stderr, "usage: %s whole OBJ | progs OBJ | test OBJ TARGET LEVEL FLAGS BTF|- RUN [AUX...]\n", argv[0]);
	return 2;
}
