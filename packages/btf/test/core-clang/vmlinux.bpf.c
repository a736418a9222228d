// Typical CO-RE reads of kernel structures, compiled against a vmlinux.h that bpftool generates
// from the running kernel's BTF (core-clang.test.ts), then relocated against that BTF.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* task_struct::state was renamed __state in 5.14 */
struct task_struct___old { long state; } __attribute__((preserve_access_index));

SEC("kprobe/do_nanosleep")
int probe(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	struct sk_buff *skb = (void *)t;
	char comm[16];
	long r;

	r = BPF_CORE_READ(t, pid);
	r += BPF_CORE_READ(t, real_parent, tgid);
	r += BPF_CORE_READ(t, mm, arg_start);
	bpf_core_read_str(&comm, sizeof(comm), &t->comm);
	r += comm[1];
	r += BPF_CORE_READ_BITFIELD_PROBED(skb, pkt_type);
	r += BPF_CORE_READ_BITFIELD_PROBED(skb, cloned);
	r += bpf_core_field_exists(((struct task_struct___old *)t)->state);
	r += bpf_core_field_exists(t->__state);
	r += bpf_core_type_size(struct task_struct);
	r += bpf_core_type_exists(struct bpf_iter_num);
	r += bpf_core_type_matches(struct list_head);
	r += bpf_core_enum_value(enum bpf_func_id, BPF_FUNC_map_lookup_elem);
	r += bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ringbuf_output);
	return r;
}

char LICENSE[] SEC("license") = "GPL";
