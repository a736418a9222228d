// Peak resident memory of a process that opens and loads one object with libbpf, beside the same
// process before it opens anything. Usage: libbpf-rss FILE; prints one JSON line (KiB).
#include <bpf/libbpf.h>
#include <sys/resource.h>
#include "bench-util.h"

static long max_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
	if (argc != 2) { fprintf(stderr, "usage: %s FILE\n", argv[0]); return 2; }
	size_t len;
	char *bytes = read_file(argv[1], &len);
	long before = max_rss_kib();
	struct bpf_object *obj = bpf_object__open_mem(bytes, len, NULL);
	if (!obj) { fprintf(stderr, "open %s failed\n", argv[1]); return 1; }
	if (bpf_object__load(obj)) { fprintf(stderr, "load %s failed\n", argv[1]); return 1; }
	long peak = max_rss_kib();
	bpf_object__close(obj);
	printf("{\"before_kib\":%ld,\"peak_kib\":%ld}\n", before, peak);
	return 0;
}
