// The "kernel" of core-clang.test.ts: prog.bpf.c's types in other layouts (as the selftests'
// btf__core_reloc_*.c files are). Compiled with -g only for its BTF.
enum e32 { C = 30, A = 10, B = 20 };
enum e64 { X = 5, Y = 0xffffffff00000002ULL };
enum es { S1 = -100 };

struct inner { long d; int a; unsigned int b:4, c:7; int s:9; };

struct foo {
	long new_first;
	int x;
	struct { long pad; short y; char z[8]; };
	struct inner in;
	struct inner arr[3];
	void *p;
	unsigned long u;
	long s;
	int flex[];
};

typedef struct foo foo_t;

void use(struct foo *a, foo_t *b, enum e32 c, enum e64 d, enum es e) {}
