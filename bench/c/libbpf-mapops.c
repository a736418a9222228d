// Reference figures for the map-operations benchmark: libbpf's bpf_map_lookup_elem and
// bpf_map_update_elem on a 4-entry BPF_MAP_TYPE_ARRAY (4-byte key, 8-byte value), as @x's side
// does them. Times batches of 1,000 calls; prints one JSON line with the median ns per call.
//
//   libbpf-mapops N     N batches (after max(3, N/10) warm-up batches)
#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include "bench-util.h"

#define BATCH 1000

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0, warm = n / 10 > 3 ? n / 10 : 3;
	if (n < 1) { fprintf(stderr, "usage: %s N\n", argv[0]); return 2; }
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bench", 4, 8, 4, NULL);
	if (fd < 0) { perror("bpf_map_create"); return 1; }
	long long *lookup = calloc(n, 8), *update = calloc(n, 8);
	unsigned int key = 0;
	unsigned long long value = 0;
	for (int it = -warm; it < n; it++) {
		long long t0 = now_ns();
		for (int i = 0; i < BATCH; i++)
			if (bpf_map_lookup_elem(fd, &key, &value)) { perror("lookup"); return 1; }
		long long t1 = now_ns();
		for (int i = 0; i < BATCH; i++)
			if (bpf_map_update_elem(fd, &key, &value, BPF_ANY)) { perror("update"); return 1; }
		long long t2 = now_ns();
		if (it >= 0) { lookup[it] = t1 - t0; update[it] = t2 - t1; }
	}
	/* median_us of a batch of 1,000 calls is the median ns per call. */
	printf("{\"lookup_ns\":%.1f,\"update_ns\":%.1f}\n", median_us(lookup, n), median_us(update, n));
	return 0;
}
