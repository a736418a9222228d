// Flavours and libbpf's candidate cache: the kernel (flavours-target.c) has two flavours of
// struct narrow; relocating n->b keeps only narrow___x as a candidate for struct narrow, so n->c,
// which only the plain one has, is then "missing" (exists 0, its load poisoned), as in libbpf.
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct narrow { int a; int b; int c; } __attribute__((preserve_access_index));
struct wide___old { int a; short b; } __attribute__((preserve_access_index));
enum state___v2 { ST_ON___v2 = 1, ST_OFF = 2 };

SEC("socket")
int prog(struct narrow *n)
{
	long r = n->a;

	r += n->b;
	if (bpf_core_field_exists(n->c))
		r += n->c;
	r += ((struct wide___old *)n)->b;
	r += bpf_core_field_size(((struct wide___old *)n)->b);
	r += bpf_core_enum_value(enum state___v2, ST_ON___v2);
	r += bpf_core_type_size(struct wide___old);
	return r;
}

char LICENSE[] SEC("license") = "GPL";
