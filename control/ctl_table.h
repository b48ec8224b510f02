/* ctl_table.h - etcdctl-style tables for nicraftctl: a border of +---+,
 * centred headers, numbers right-aligned and text left-aligned. */
#ifndef NICRAFT_CTL_TABLE_H
#define NICRAFT_CTL_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_TABLE_COLS_MAX 12u
#define CTL_TABLE_ROWS_MAX 256u
#define CTL_TABLE_CELL_MAX 512u /* bytes of one cell; longer is cut */

struct ctl_table {
    uint32_t n_cols;
    uint32_t n_rows;
    const char *headers[CTL_TABLE_COLS_MAX];
    bool is_number[CTL_TABLE_COLS_MAX]; /* right-aligned */
    char cells[CTL_TABLE_ROWS_MAX][CTL_TABLE_COLS_MAX][CTL_TABLE_CELL_MAX];
};

/* Starts a table with n headers (borrowed; n <= CTL_TABLE_COLS_MAX). */
void ctl_table_init(struct ctl_table *t, const char *const *headers, uint32_t n);

/* Adds a row; returns its index, or -1 when CTL_TABLE_ROWS_MAX are full. */
int ctl_table_add_row(struct ctl_table *t);

/* Sets one cell of row r (printf-style). */
void ctl_table_set(struct ctl_table *t, int r, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

void ctl_table_print(const struct ctl_table *t, FILE *f);

/* Bytes as etcd shows them (go-humanize, SI): "123 B", "12 kB", "1.2 MB". */
void ctl_human_bytes(uint64_t bytes, char *buf, size_t cap);

#endif
