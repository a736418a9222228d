// An unsigned 32-bit enumerator of 2^31 or more: clang puts it in an ld_imm64 zero-extended, while
// libbpf (relo_core.c reads btf_enum's __s32 val) expects it sign-extended and refuses the object.
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

enum big { BIG = 0x80000000u, SMALL = 1 };

SEC("socket")
int prog(void *ctx)
{
	return bpf_core_enum_value(enum big, SMALL) + bpf_core_enum_value(enum big, BIG);
}

char LICENSE[] SEC("license") = "GPL";
