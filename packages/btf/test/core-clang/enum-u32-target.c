// The "kernel" for enum-u32.bpf.c.
enum big { SMALL = 2, BIG = 0x90000000u };

void use(enum big b) {}
