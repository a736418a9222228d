// libbpf's own section name classification, for packages/loader/test/section-defs.libbpf.test.ts.
// Reads section names (one per line) on stdin and prints, for each, a tab-separated line:
//   NAME \t ok \t PROG_TYPE \t EXPECTED_ATTACH_TYPE     (libbpf_prog_type_by_name found it)
//   NAME \t none \t ERRNO                               (it did not)
// The first output line is "libbpf MAJOR.MINOR". Built by the test with: gcc harness.c -lbpf
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args) {
  (void)level; (void)fmt; (void)args;
  return 0;
}

int main(void) {
  char line[4096];
  libbpf_set_print(quiet);
  printf("libbpf %u.%u\n", libbpf_major_version(), libbpf_minor_version());
  while (fgets(line, sizeof(line), stdin)) {
    size_t n = strlen(line);
    if (n && line[n - 1] == '\n') line[--n] = '\0';
    enum bpf_prog_type type = 0;
    enum bpf_attach_type attach = 0;
    int err = libbpf_prog_type_by_name(line, &type, &attach);
    if (err) printf("%s\tnone\t%d\n", line, -err);
    else printf("%s\tok\t%d\t%d\n", line, (int)type, (int)attach);
  }
  return 0;
}
