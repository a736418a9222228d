// Test-only reference harness for core-clang.test.ts: opens a BPF object with libbpf, with a custom
// target BTF (bpf_object_open_opts.btf_custom_path, as libbpf's own CO-RE selftests do), loads it and
// prints what libbpf did: its log (every level, "log: " lines) and each program's instructions as
// libbpf relocated them ("insn" lines), whether or not the kernel then accepted the program.
//
// usage: harness OBJ TARGET_BTF
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

static int print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char line[4096];
	vsnprintf(line, sizeof(line), fmt, args);
	for (char *s = line, *nl; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		if (!nl) {
			printf("log: %s\n", s);
			break;
		}
		*nl = 0;
		printf("log: %s\n", s);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s OBJ TARGET_BTF\n", argv[0]);
		return 2;
	}
	libbpf_set_print(print);
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = argv[2]);
	struct bpf_object *obj = bpf_object__open_file(argv[1], &opts);
	if (!obj) {
		printf("open failed\n");
		return 1;
	}
	printf("load %d\n", bpf_object__load(obj));
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		const struct bpf_insn *insn = bpf_program__insns(prog);
		size_t n = bpf_program__insn_cnt(prog);
		printf("prog %s %zu\n", bpf_program__name(prog), n);
		for (size_t i = 0; i < n; i++)
			printf("insn %u %u %u %d %d\n", insn[i].code, insn[i].dst_reg, insn[i].src_reg, insn[i].off, insn[i].imm);
	}
	bpf_object__close(obj);
	return 0;
}
