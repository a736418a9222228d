// Two kernel flavours of struct dup with `a` at different offsets: libbpf refuses ("field offset ambiguity").
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

struct dup { int a; } __attribute__((preserve_access_index));

SEC("socket")
int prog(struct dup *d)
{
	return d->a;
}

char LICENSE[] SEC("license") = "GPL";
