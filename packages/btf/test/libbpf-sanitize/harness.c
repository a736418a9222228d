// Test-only reference harness: asks the installed libbpf how it sanitises an object's BTF for
// a kernel that lacks some BTF features, without such a kernel.
//
// It interposes libc's syscall() (link with -rdynamic: libbpf calls syscall(__NR_bpf, ...)).
// Every BPF_BTF_LOAD whose blob uses a kind (or kind use) named on the command line as missing
// fails with EINVAL, so libbpf's own feature probes see an old kernel (each feature is judged by
// the kind its probe is about, so that one feature can be missing alone); every other bpf(2) call
// goes to the real kernel. The largest BTF blob that got through is the object's sanitised BTF:
// it is written to OUTDIR/sanitized.btf, and libbpf's unsanitised copy (after its open-time
// fix-ups) to OUTDIR/original.btf.
//
// usage: harness OBJ OUTDIR [feature,...]   features: btf_func btf_global_func btf_datasec
//        btf_qmark_datasec btf_float btf_decl_tag btf_type_tag btf_enum64
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

static int no_func, no_global_func, no_datasec, no_qmark, no_float, no_decl_tag, no_type_tag, no_enum64;
static unsigned char *best;
static uint32_t best_size;

/* 1 when the blob uses something the pretend kernel lacks. */
static int uses_missing(const unsigned char *blob, uint32_t size)
{
	const struct btf_header *h = (const void *)blob;
	if (size < sizeof(*h) || h->magic != BTF_MAGIC || h->hdr_len > size)
		return 0;
	const unsigned char *types = blob + h->hdr_len + h->type_off;
	const char *strs = (const char *)blob + h->hdr_len + h->str_off;
	uint32_t off = 0;
	while (off + sizeof(struct btf_type) <= h->type_len) {
		const struct btf_type *t = (const void *)(types + off);
		uint32_t kind = BTF_INFO_KIND(t->info), vlen = BTF_INFO_VLEN(t->info), kflag = BTF_INFO_KFLAG(t->info);
		const char *name = t->name_off < h->str_len ? strs + t->name_off : "";
		uint32_t extra = 0;
		switch (kind) {
		case BTF_KIND_INT: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG: extra = 4; break;
		case BTF_KIND_ARRAY: extra = sizeof(struct btf_array); break;
		case BTF_KIND_STRUCT: case BTF_KIND_UNION: extra = vlen * sizeof(struct btf_member); break;
		case BTF_KIND_ENUM: extra = vlen * sizeof(struct btf_enum); break;
		case BTF_KIND_ENUM64: extra = vlen * 12; break;
		case BTF_KIND_FUNC_PROTO: extra = vlen * sizeof(struct btf_param); break;
		case BTF_KIND_DATASEC: extra = vlen * sizeof(struct btf_var_secinfo); break;
		}
		if (no_func && (kind == BTF_KIND_FUNC || kind == BTF_KIND_FUNC_PROTO)) return 1;
		if (no_global_func && kind == BTF_KIND_FUNC && vlen != 0) return 1;
		/* DATASEC only: libbpf's DECL_TAG probe holds a VAR too, and must not fail for it */
		if (no_datasec && kind == BTF_KIND_DATASEC) return 1;
		if (no_qmark && kind == BTF_KIND_DATASEC && name[0] == '?') return 1;
		if (no_float && kind == BTF_KIND_FLOAT) return 1;
		if (no_decl_tag && kind == BTF_KIND_DECL_TAG) return 1;
		if (no_type_tag && kind == BTF_KIND_TYPE_TAG) return 1;
		if (no_enum64 && (kind == BTF_KIND_ENUM64 || (kind == BTF_KIND_ENUM && kflag))) return 1;
		off += sizeof(struct btf_type) + extra;
	}
	return 0;
}

long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	va_list ap;
	long a[6];
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	if (nr == __NR_bpf && a[0] == BPF_BTF_LOAD) {
		const union bpf_attr *attr = (const void *)a[1];
		const unsigned char *blob = (const void *)(uintptr_t)attr->btf;
		uint32_t size = attr->btf_size;
		if (uses_missing(blob, size)) {
			errno = EINVAL;
			return -1;
		}
		if (size > best_size) {
			free(best);
			best = malloc(size);
			memcpy(best, blob, size);
			best_size = size;
		}
	}
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (getenv("HARNESS_VERBOSE"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static int write_file(const char *dir, const char *name, const void *data, uint32_t size)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size) {
		perror(path);
		return 1;
	}
	return fclose(f) != 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s OBJ OUTDIR [feature,...]\n", argv[0]);
		return 2;
	}
	if (argc > 3) {
		char *list = strdup(argv[3]);
		for (char *f = strtok(list, ","); f; f = strtok(NULL, ",")) {
			if (!strcmp(f, "btf_func")) no_func = 1;
			else if (!strcmp(f, "btf_global_func")) no_global_func = 1;
			else if (!strcmp(f, "btf_datasec")) no_datasec = 1;
			else if (!strcmp(f, "btf_qmark_datasec")) no_qmark = 1;
			else if (!strcmp(f, "btf_float")) no_float = 1;
			else if (!strcmp(f, "btf_decl_tag")) no_decl_tag = 1;
			else if (!strcmp(f, "btf_type_tag")) no_type_tag = 1;
			else if (!strcmp(f, "btf_enum64")) no_enum64 = 1;
			else {
				fprintf(stderr, "unknown feature %s\n", f);
				return 2;
			}
		}
	}
	libbpf_set_print(quiet);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "open %s failed\n", argv[1]);
		return 1;
	}
	/* Programs may or may not load; only the BTF libbpf tried to load matters. */
	int err = bpf_object__load(obj);
	fprintf(stderr, "bpf_object__load: %d\n", err);
	uint32_t osz = 0;
	const void *orig = btf__raw_data(bpf_object__btf(obj), &osz);
	if (!best) {
		fprintf(stderr, "libbpf loaded no BTF\n");
		return 1;
	}
	int rc = write_file(argv[2], "sanitized.btf", best, best_size) || write_file(argv[2], "original.btf", orig, osz);
	bpf_object__close(obj);
	return rc;
}
