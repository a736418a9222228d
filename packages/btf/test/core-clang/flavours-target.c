// The "kernel" for flavours.bpf.c.
struct narrow { int a; int c; };
struct narrow___x { int a; int b; };
struct wide { long x; int a; unsigned short b; };
enum state { ST_OFF = 0, ST_ON = 7 };

void use(struct narrow *a, struct narrow___x *b, struct wide *c, enum state d) {}
