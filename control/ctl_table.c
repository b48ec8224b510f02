/* ctl_table.c - etcdctl-style tables and sizes for nicraftctl. */
#include "ctl_table.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "nr_err.h"

void ctl_table_init(struct ctl_table *t, const char *const *headers, uint32_t n)
{
    NR_ASSERT(n <= CTL_TABLE_COLS_MAX);
    t->n_cols = n;
    t->n_rows = 0;
    for (uint32_t i = 0; i < n; i++) {
        t->headers[i] = headers[i];
        t->is_number[i] = false;
    }
}

int ctl_table_add_row(struct ctl_table *t)
{
    if (t->n_rows == CTL_TABLE_ROWS_MAX)
        return -1;
    for (uint32_t c = 0; c < t->n_cols; c++)
        t->cells[t->n_rows][c][0] = '\0';
    return (int)t->n_rows++;
}

void ctl_table_set(struct ctl_table *t, int r, uint32_t col, const char *fmt, ...)
{
    va_list ap;

    NR_ASSERT(r >= 0 && (uint32_t)r < t->n_rows);
    NR_ASSERT(col < t->n_cols);
    va_start(ap, fmt);
    vsnprintf(t->cells[r][col], CTL_TABLE_CELL_MAX, fmt, ap);
    va_end(ap);
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t width(const char *s)
{
    size_t w = 0;

    for (; *s != '\0'; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static void rule(const size_t *w, uint32_t n, FILE *f)
{
    for (uint32_t c = 0; c < n; c++) {
        fputc('+', f);
        for (size_t i = 0; i < w[c] + 2; i++)
            fputc('-', f);
    }
    fputs("+\n", f);
}

static void pad(size_t n, FILE *f)
{
    for (size_t i = 0; i < n; i++)
        fputc(' ', f);
}

void ctl_table_print(const struct ctl_table *t, FILE *f)
{
    size_t w[CTL_TABLE_COLS_MAX];

    for (uint32_t c = 0; c < t->n_cols; c++) {
        w[c] = width(t->headers[c]);
        for (uint32_t r = 0; r < t->n_rows; r++)
            if (width(t->cells[r][c]) > w[c])
                w[c] = width(t->cells[r][c]);
    }
    rule(w, t->n_cols, f);
    for (uint32_t c = 0; c < t->n_cols; c++) {
        size_t gap = w[c] - width(t->headers[c]);
        fputs("| ", f);
        pad(gap / 2, f);
        fputs(t->headers[c], f);
        pad(gap - gap / 2 + 1, f);
    }
    fputs("|\n", f);
    rule(w, t->n_cols, f);
    for (uint32_t r = 0; r < t->n_rows; r++) {
        for (uint32_t c = 0; c < t->n_cols; c++) {
            size_t gap = w[c] - width(t->cells[r][c]);
            fputs("| ", f);
            if (t->is_number[c])
                pad(gap, f);
            fputs(t->cells[r][c], f);
            pad(t->is_number[c] ? 1 : gap + 1, f);
        }
        fputs("|\n", f);
    }
    rule(w, t->n_cols, f);
}

void ctl_human_bytes(uint64_t bytes, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};

    if (bytes < 10) {
        snprintf(buf, cap, "%u B", (unsigned)bytes);
        return;
    }
    /* go-humanize: e = floor(log1000(n)), one decimal below 10. */
    double v = (double)bytes;
    unsigned e = 0;
    while (v >= 1000.0 && e + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1000.0;
        e++;
    }
    double rounded = floor(v * 10.0 + 0.5) / 10.0;
    if (rounded < 10.0)
        snprintf(buf, cap, "%.1f %s", rounded, units[e]);
    else
        snprintf(buf, cap, "%.0f %s", rounded, units[e]);
}
