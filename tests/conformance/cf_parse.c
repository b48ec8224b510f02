/* cf_parse.c - the datadriven file format of the vectors (README 4): a file
 * split into cases (directive, input block, expected output) and a directive
 * split into a command and its arguments.
 *
 * It reads what README 4 describes, including the two features it names as
 * unused (a directive continued by a trailing backslash, and an expected
 * block opened by a second `----` that may hold blank lines). Anything else
 * is refused with the line that shows it; the reader then skips the case so
 * that the rest of the file still runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"

/* ---- lines --------------------------------------------------------------- */

/* A line of the file, not NUL-terminated. */
struct line {
    const char *s;
    size_t len;
};

/* The next line without its LF, and without a CR before it (Go's line
 * scanner, which datadriven uses, drops that CR too). False at end of file. */
static bool next_line(struct cf_reader *r, struct line *l)
{
    if (r->pos >= r->len)
        return false;
    const char *s = r->data + r->pos;
    const char *nl = memchr(s, '\n', r->len - r->pos);
    size_t n = nl != NULL ? (size_t)(nl - s) : r->len - r->pos;

    r->pos += n + (nl != NULL ? 1 : 0);
    if (n > 0 && s[n - 1] == '\r')
        n--;
    r->line_no++;
    l->s = s;
    l->len = n;
    return true;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static struct line trim(struct line l)
{
    while (l.len > 0 && is_space(l.s[0])) {
        l.s++;
        l.len--;
    }
    while (l.len > 0 && is_space(l.s[l.len - 1]))
        l.len--;
    return l;
}

static bool is_separator(struct line l)
{
    return l.len == 4 && memcmp(l.s, "----", 4) == 0;
}

static bool is_blank(struct line l)
{
    return trim(l).len == 0;
}

/* Appends l to dst[cap] at *n, keeping it NUL-terminated; false when cut. */
static bool append(char *dst, size_t cap, size_t *n, const char *s, size_t len)
{
    bool is_cut = len > cap - 1 - *n;

    if (is_cut)
        len = cap - 1 - *n;
    memcpy(dst + *n, s, len);
    *n += len;
    dst[*n] = '\0';
    return !is_cut;
}

/* ---- opening ------------------------------------------------------------- */

int cf_reader_open(struct cf_reader *r, const char *path, struct nr_err *err)
{
    FILE *f;
    int rc;

    memset(r, 0, sizeof(*r));
    r->path = path;
    f = fopen(path, "rb");
    if (f == NULL)
        return nr_errf(err, NR_EINVAL, "%s: cannot open: %s", path, strerror(errno));
    r->data = malloc(CF_FILE_BYTES_MAX + 1);
    if (r->data == NULL) {
        rc = nr_errf(err, NR_ENOMEM, "%s: no memory for %u bytes", path, CF_FILE_BYTES_MAX);
        goto fail_close;
    }
    r->len = fread(r->data, 1, CF_FILE_BYTES_MAX + 1, f);
    if (ferror(f)) {
        rc = nr_errf(err, NR_EINVAL, "%s: read error", path);
        goto fail_free;
    }
    if (r->len > CF_FILE_BYTES_MAX) {
        rc = nr_errf(err, NR_EINVAL, "%s: larger than %u bytes", path, CF_FILE_BYTES_MAX);
        goto fail_free;
    }
    r->data[r->len] = '\0';
    const char *nul = memchr(r->data, '\0', r->len);
    if (nul != NULL) {
        rc = nr_errf(err, NR_EINVAL, "%s: a NUL byte at offset %zu: not a text file", path,
                     (size_t)(nul - r->data));
        goto fail_free;
    }
    fclose(f);
    return 0;

fail_free:
    free(r->data);
    r->data = NULL;
fail_close:
    fclose(f);
    return rc;
}

void cf_reader_close(struct cf_reader *r)
{
    free(r->data);
    r->data = NULL;
}

/* ---- a case's three parts (README 4.2) ------------------------------------ */

/* Skips comments and blank lines and copies the next directive, joined over
 * backslash continuations, into c->directive: CF_READ_CASE, CF_READ_END, or
 * NR_EINVAL when it is too long. */
static int read_directive(struct cf_reader *r, struct cf_case *c, struct nr_err *err)
{
    struct line l;
    size_t n = 0;
    bool is_whole;

    do {
        if (!next_line(r, &l))
            return CF_READ_END;
        l = trim(l);
    } while (l.len == 0 || l.s[0] == '#');
    c->line = r->line_no;
    is_whole = append(c->directive, sizeof(c->directive), &n, l.s, l.len);
    while (n > 0 && c->directive[n - 1] == '\\' && next_line(r, &l)) {
        l = trim(l);
        c->directive[--n] = '\0';
        is_whole &= append(c->directive, sizeof(c->directive), &n, " ", 1);
        is_whole &= append(c->directive, sizeof(c->directive), &n, l.s, l.len);
    }
    if (!is_whole)
        return nr_errf(err, NR_EINVAL, "the directive is longer than %u bytes", CF_LINE_MAX - 1);
    return CF_READ_CASE;
}

/* The lines up to the exact line `----`, joined with LF and trimmed. */
static int read_input(struct cf_reader *r, struct cf_case *c, struct nr_err *err)
{
    struct line l;
    size_t n = 0;
    bool is_whole = true;

    for (;;) {
        if (!next_line(r, &l))
            return nr_errf(err, NR_EINVAL,
                           "no `----` line follows the directive (end of file at line %u)",
                           r->line_no);
        if (is_separator(l))
            break;
        is_whole &= append(c->input, sizeof(c->input), &n, l.s, l.len);
        is_whole &= append(c->input, sizeof(c->input), &n, "\n", 1);
    }
    if (!is_whole)
        return nr_errf(err, NR_EINVAL, "the input block is longer than %u bytes", CF_INPUT_MAX - 1);
    struct line t = trim((struct line){c->input, n});

    memmove(c->input, t.s, t.len);
    c->input[t.len] = '\0';
    c->n_input_lines = t.len > 0 ? 1 : 0;
    for (size_t i = 0; i < t.len; i++)
        c->n_input_lines += c->input[i] == '\n';
    return 0;
}

static int check_expected_size(const struct cf_case *c, struct nr_err *err)
{
    if (c->expected.is_overflow)
        return nr_errf(err, NR_EINVAL, "the expected output is longer than %u bytes",
                       CF_OUT_MAX - 1);
    return 0;
}

/* After `----` `----`: every line up to a pair of `----` lines, blank lines
 * included; the line after the pair must be empty. */
static int read_expected_double(struct cf_reader *r, struct cf_case *c, struct nr_err *err)
{
    uint32_t opened_at = r->line_no;
    struct line l;
    struct line l2;

    while (next_line(r, &l)) {
        if (is_separator(l) && next_line(r, &l2)) {
            if (is_separator(l2)) {
                if (next_line(r, &l) && l.len != 0)
                    return nr_errf(err, NR_EINVAL,
                                   "line %u: not empty after the closing `----` pair", r->line_no);
                return check_expected_size(c, err);
            }
            cf_buf_put(&c->expected, l.s, l.len);
            cf_buf_puts(&c->expected, "\n");
            l = l2;
        }
        cf_buf_put(&c->expected, l.s, l.len);
        cf_buf_puts(&c->expected, "\n");
    }
    return nr_errf(err, NR_EINVAL,
                   "the block opened by `----` `----` at line %u is not closed by a `----` pair",
                   opened_at);
}

/* The lines after `----` up to the first blank line or the end of the file,
 * each LF-terminated; the blank line is consumed. */
static int read_expected(struct cf_reader *r, struct cf_case *c, struct nr_err *err)
{
    struct line l;

    if (!next_line(r, &l))
        return 0;
    if (is_separator(l))
        return read_expected_double(r, c, err);
    while (!is_blank(l)) {
        cf_buf_put(&c->expected, l.s, l.len);
        cf_buf_puts(&c->expected, "\n");
        if (!next_line(r, &l))
            break;
    }
    return check_expected_size(c, err);
}

/* ---- the directive (README 4.3) ----------------------------------------- */

static int add_val(struct cf_arg *a, const char *val, struct nr_err *err)
{
    if (a->n_vals >= CF_VALS_MAX)
        return nr_errf(err, NR_EINVAL, "argument %s has more than %u values", a->key, CF_VALS_MAX);
    a->vals[a->n_vals++] = val;
    return 0;
}

/* `key=(v1, v2,...)` with p at `(`: values split at commas of depth 1, the
 * spaces after a comma skipped; parentheses may nest. */
static int parse_list(char **pp, char *p, struct cf_arg *a, struct nr_err *err)
{
    uint32_t depth = 0;
    char *val = p + 1;
    int rc;

    a->is_list = true;
    for (; *p != '\0'; p++) {
        if (*p == '(') {
            depth++;
        } else if (*p == ')') {
            if (--depth == 0)
                break;
        } else if (*p == ',' && depth == 1) {
            *p = '\0';
            if ((rc = add_val(a, val, err)) != 0)
                return rc;
            val = p + 1;
            while (*val == ' ')
                val++;
            p = val - 1;
        }
    }
    if (*p != ')')
        return nr_errf(err, NR_EINVAL, "argument %s: no `)` closes its list", a->key);
    *p++ = '\0';
    if ((rc = add_val(a, val, err)) != 0)
        return rc;
    if (*p != ' ' && *p != '\0')
        return nr_errf(err, NR_EINVAL, "argument %s: `%c` follows the closing `)`", a->key, *p);
    *pp = p;
    return 0;
}

/* One argument at *pp (not a space): `key`, `key=value` or `key=(...)`. */
static int parse_arg(char **pp, struct cf_arg *a, struct nr_err *err)
{
    char *p = *pp;

    a->key = p;
    p += strcspn(p, "= ");
    if (p == a->key)
        return nr_errf(err, NR_EINVAL, "an argument has no key before `=`");
    if (*p != '=') {
        if (*p != '\0')
            *p++ = '\0';
        *pp = p;
        return 0;
    }
    *p++ = '\0';
    if (*p == '(')
        return parse_list(pp, p, a, err);
    a->vals[a->n_vals++] = p;
    p += strcspn(p, " ");
    if (*p != '\0')
        *p++ = '\0';
    *pp = p;
    return 0;
}

/* Splits c->directive (in a copy, words[]) into the command, the text up to
 * the first space, and the arguments after it. */
static int parse_directive(struct cf_case *c, struct nr_err *err)
{
    char *p;
    int rc;

    memcpy(c->words, c->directive, sizeof(c->words));
    c->cmd = c->words;
    p = strchr(c->words, ' ');
    if (p == NULL)
        return 0;
    *p++ = '\0';
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            return 0;
        if (c->n_args >= CF_ARGS_MAX)
            return nr_errf(err, NR_EINVAL, "more than %u arguments", CF_ARGS_MAX);
        struct cf_arg *a = &c->args[c->n_args++];

        if ((rc = parse_arg(&p, a, err)) != 0)
            return rc;
    }
}

/* ---- cases --------------------------------------------------------------- */

static void case_reset(struct cf_case *c, const char *path)
{
    c->path = path;
    c->line = 0;
    c->directive[0] = '\0';
    c->words[0] = '\0';
    c->cmd = c->words;
    memset(c->args, 0, sizeof(c->args));
    c->n_args = 0;
    c->input[0] = '\0';
    c->n_input_lines = 0;
    cf_buf_reset(&c->expected);
}

int cf_reader_next(struct cf_reader *r, struct cf_case *c, struct nr_err *err)
{
    int rc;
    int rc_part;

    case_reset(c, r->path);
    rc = read_directive(r, c, err);
    if (rc == CF_READ_END)
        return CF_READ_END;
    /* The blocks are read even after an error, so that the next call starts
     * at the next case; the first error is the one reported. */
    rc = rc < 0 ? rc : 0;
    rc_part = read_input(r, c, rc < 0 ? NULL : err);
    rc = rc < 0 ? rc : rc_part;
    rc_part = read_expected(r, c, rc < 0 ? NULL : err);
    rc = rc < 0 ? rc : rc_part;
    if (rc == 0)
        rc = parse_directive(c, err);
    return rc < 0 ? rc : CF_READ_CASE;
}

int cf_parse_u64(const char *s, uint64_t *v)
{
    uint64_t x = 0;

    if (*s == '\0')
        return CF_NUM_SYNTAX;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return CF_NUM_SYNTAX;
        uint64_t d = (uint64_t)(*s - '0');

        if (x > (UINT64_MAX - d) / 10)
            return CF_NUM_RANGE;
        x = x * 10 + d;
    }
    *v = x;
    return CF_NUM_OK;
}
