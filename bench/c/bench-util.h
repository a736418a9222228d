/* Helpers shared by the C harnesses of bench/: a monotonic clock, medians, reading a file. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

/* The median of v[0..n) in microseconds (sorts v). */
static double median_us(long long *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) / 1000.0;
}

/* The whole file, NUL-terminated (so a source can be searched as text); exits on error. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) { perror(path); exit(1); }
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	rewind(f);
	char *buf = malloc(*len + 1);
	if (fread(buf, 1, *len, f) != *len) { perror(path); exit(1); }
	buf[*len] = 0;
	fclose(f);
	return buf;
}
#endif
