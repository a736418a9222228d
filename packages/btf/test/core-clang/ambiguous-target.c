// The "kernel" for ambiguous.bpf.c.
struct dup { int a; };
struct dup___2 { long pad; int a; };

void use(struct dup *a, struct dup___2 *b) {}
