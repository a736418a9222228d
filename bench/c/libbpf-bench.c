// Reference figures: libbpf (Debian's libbpf-dev) opening, loading and closing the same objects
// @x is measured on, in the same run. Prints one JSON line per case.
//
// Time spent inside bpf(2) is measured by interposing libc's syscall(): libbpf issues every bpf
// command through it, and this executable is linked with -rdynamic so its definition wins.
#define _GNU_SOURCE
#include <bpf/libbpf.h>
#include <bpf/btf.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

static long long in_bpf_ns;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

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
	return r;
}

static int silent(enum libbpf_print_level l, const char *f, va_list ap) { return 0; }

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static double median_us(long long *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) / 1000.0;
}

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) { perror(path); exit(1); }
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	rewind(f);
	void *buf = malloc(*len);
	if (fread(buf, 1, *len, f) != *len) { perror(path); exit(1); }
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s open|load|vmlinux FILE N\n", argv[0]);
		return 2;
	}
	const char *mode = argv[1], *path = argv[2];
	int n = atoi(argv[3]);
	long long *open_ns = calloc(n, sizeof(long long)), *load_ns = calloc(n, sizeof(long long));
	long long *close_ns = calloc(n, sizeof(long long)), *bpf_ns = calloc(n, sizeof(long long));
	libbpf_set_print(silent);
	size_t len;
	void *bytes = read_file(path, &len);

	for (int i = 0; i < n; i++) {
		long long t0 = now_ns();
		if (!strcmp(mode, "vmlinux")) {
			struct btf *btf = btf__new(bytes, len);
			if (!btf) { fprintf(stderr, "btf__new failed\n"); return 1; }
			open_ns[i] = now_ns() - t0;
			btf__free(btf);
			continue;
		}
		LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = NULL);
		struct bpf_object *obj = bpf_object__open_mem(bytes, len, &opts);
		if (!obj) { fprintf(stderr, "open %s failed\n", path); return 1; }
		long long t1 = now_ns();
		open_ns[i] = t1 - t0;
		if (!strcmp(mode, "load")) {
			in_bpf_ns = 0;
			if (bpf_object__load(obj)) { fprintf(stderr, "load %s failed\n", path); return 1; }
			load_ns[i] = now_ns() - t1;
			bpf_ns[i] = in_bpf_ns;
		}
		long long t2 = now_ns();
		bpf_object__close(obj);
		close_ns[i] = now_ns() - t2;
	}
	printf("{\"mode\":\"%s\",\"file\":\"%s\",\"n\":%d,\"open_us\":%.1f,\"load_us\":%.1f,\"close_us\":%.1f,\"bpf_us\":%.1f}\n",
	       mode, path, n, median_us(open_ns, n), median_us(load_ns, n), median_us(close_ns, n), median_us(bpf_ns, n));
	return 0;
}
