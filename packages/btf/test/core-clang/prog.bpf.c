// The local side of core-clang.test.ts: CO-RE accesses as BPF programs write them (direct accesses
// to preserve_access_index structs, libbpf's bpf_core_* macros). target.c is the "kernel".
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define __pai __attribute__((preserve_access_index))

enum e32 { A = 1, B = 2, C = 3 };
enum e64 { X = 1, Y = 0x100000000ULL };
enum es { S1 = -5, S2 = 7 };
enum gone_enum { G = 1 };

struct inner { int a; unsigned int b:3, c:5; long d; int s:4; } __pai;

struct foo {
	int x;
	struct { short y; char z[4]; };
	struct inner in;
	struct inner arr[2];
	void *p;
	unsigned int u;
	int s;
	int gone_field;
	int flex[];
} __pai;

struct foo___v2 { int x; long newfield; };
struct only_local { int x; };
typedef struct foo foo_t;

SEC("socket")
int prog(struct foo *f)
{
	long r = 0;

	r += f->x;
	r += f->y;
	r += f->z[2];
	r += f->in.d;
	r += f->arr[1].d;
	r += (long)f->p;
	r += f->flex[3];
	r += f->u;
	r += BPF_CORE_READ_BITFIELD(&f->in, b);
	r += BPF_CORE_READ_BITFIELD(&f->in, c);
	r += BPF_CORE_READ_BITFIELD(&f->in, s);
	r += __builtin_preserve_field_info(f->in.s, BPF_FIELD_SIGNED);
	r += bpf_core_field_exists(f->gone_field);
	if (bpf_core_field_exists(f->gone_field))
		r += f->gone_field;
	r += bpf_core_field_size(f->z);
	r += bpf_core_field_offset(f->in.c);
	r += bpf_core_type_exists(struct only_local);
	r += bpf_core_type_exists(foo_t);
	r += bpf_core_type_size(struct foo);
	r += bpf_core_type_id_kernel(struct foo);
	r += bpf_core_type_id_local(struct foo);
	r += bpf_core_type_matches(struct inner);
	r += bpf_core_type_matches(struct foo);
	r += bpf_core_enum_value_exists(enum e32, B);
	r += bpf_core_enum_value(enum e32, C);
	r += bpf_core_enum_value(enum e64, Y);
	r += bpf_core_enum_value(enum es, S1);
	r += bpf_core_enum_value_exists(enum es, S2);
	if (bpf_core_enum_value_exists(enum gone_enum, G))
		r += bpf_core_enum_value(enum gone_enum, G);
	r += bpf_core_field_exists(struct foo___v2, newfield);
	r += bpf_core_field_offset(struct foo___v2, x);
	return r;
}

SEC("socket")
int signed_resize(struct foo *f)
{
	/* int s became long s: a load libbpf cannot resize, poisoned */
	return f->s;
}

char LICENSE[] SEC("license") = "GPL";
