/* cf_report.c - what the driver prints about one case: a pass (with -v), a
 * mismatch (expected and actual side by side, each line behind `|` so that
 * leading spaces show), or a case it could not run. */
#include <stdio.h>
#include <string.h>

#include "cf.h"

static void print_head(const char *verdict, const struct cf_case *c)
{
    printf("%s %s:%u: %s\n", verdict, c->path, c->line, c->directive);
}

/* Each line of text[len] behind `    |`. */
static void print_block(const char *label, const char *text, size_t len)
{
    printf("  %s:\n", label);
    if (len == 0) {
        printf("    (empty)\n");
        return;
    }
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl != NULL ? (size_t)(nl - (text + i)) : len - i;

        printf("    |%.*s\n", (int)n, text + i);
        if (nl == NULL)
            printf("    (no line break at the end)\n");
        i += n + 1;
    }
}

/* The 1-based number of the first line where a and b differ. */
static unsigned first_difference(const char *a, size_t a_len, const char *b, size_t b_len)
{
    unsigned line = 1;

    for (size_t i = 0; i < a_len && i < b_len && a[i] == b[i]; i++)
        line += a[i] == '\n';
    return line;
}

void cf_report_mismatch(const struct cf_case *c, const struct cf_buf *actual)
{
    print_head("FAIL", c);
    if (c->n_input_lines == 1)
        printf("  input: %s\n", c->input);
    else if (c->n_input_lines > 1)
        print_block("input", c->input, strlen(c->input));
    print_block("expected", c->expected.data, c->expected.len);
    print_block("actual", actual->data, actual->len);
    printf("  first difference: output line %u\n",
           first_difference(c->expected.data, c->expected.len, actual->data, actual->len));
}

void cf_report_not_run(const struct cf_case *c, const struct nr_err *err)
{
    print_head("FAIL", c);
    printf("  %s: %s\n",
           err->code == NR_ERANGE ? "beyond the driver's limits" : "malformed test data", err->msg);
}

void cf_report_pass(const struct cf_case *c)
{
    print_head("ok", c);
}
