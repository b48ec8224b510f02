/* cf.h - the etcd-raft conformance driver: types shared by its files.
 *
 * The driver runs etcd-io/raft's data-driven vectors for the quorum and
 * confchange packages (shared/conformance/etcd-raft/; its README.md, cited
 * below as "README x.y", specifies the format and every output rule) against
 * our raft/ quorum.c and confchange.c, and compares the output byte for
 * byte. The vectors stay in shared/: the project holds no copy of them.
 *
 *   cf_parse.c       the datadriven file format: cases, directive arguments
 *   cf_buf.c         bounded text buffer for expected and actual outputs
 *   cf_ids.c         small id lists: dedupe, sort
 *   cf_quorum.c      `committed` and `vote`: arguments, dispatch, votes
 *   cf_commit.c      `committed` output: the chart, the self-checks
 *   cf_confchange.c  `simple`, `enter-joint`, `leave-joint`
 *   cf_report.c      what a mismatch or a malformed case prints
 *   cf_main.c        command line, directory walk, the totals
 */
#ifndef NICRAFT_CF_H
#define NICRAFT_CF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nr_err.h"
#include "raft.h"

#define CF_FILE_BYTES_MAX (4u << 20) /* one vector file */
#define CF_LINE_MAX 4096             /* a directive line, continuations joined */
#define CF_ARGS_MAX 16               /* arguments of one directive */
#define CF_VALS_MAX 64               /* values of one argument, and of one key */
#define CF_INPUT_MAX 4096            /* bytes of one input block */
#define CF_OUT_MAX 65536             /* bytes of one expected or actual output */

/* ---- cf_buf.c: bounded text --------------------------------------------- */

/* Text that stops growing at CF_OUT_MAX - 1 bytes and remembers that it was
 * cut (a case whose output overflows is reported, never compared). */
struct cf_buf {
    size_t len;
    bool is_overflow;
    char data[CF_OUT_MAX]; /* NUL-terminated */
};

void cf_buf_reset(struct cf_buf *b);
void cf_buf_put(struct cf_buf *b, const char *s, size_t len);
void cf_buf_puts(struct cf_buf *b, const char *s);
void cf_buf_printf(struct cf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- cf_ids.c: id lists ------------------------------------------------- */

void cf_ids_sort(uint64_t *ids, uint32_t n);
bool cf_ids_has(const uint64_t *ids, uint32_t n, uint64_t id);
/* Appends the ids of src[] not yet in dst[] (cap: room in dst), in order;
 * false when dst is full. */
bool cf_ids_merge(uint64_t *dst, uint32_t *n_dst, uint32_t cap, const uint64_t *src,
                  uint32_t n_src);

/* ---- cf_parse.c: the datadriven format (README 4) ------------------------ */

/* One argument of a directive (README 4.3): `key` (n_vals 0), `key=value`
 * (one value) or `key=(v1,v2,...)` (is_list; one or more values). */
struct cf_arg {
    const char *key;
    const char *vals[CF_VALS_MAX];
    uint32_t n_vals;
    bool is_list;
};

/* One case: directive, input block and expected output (README 4.2). The
 * pointers in cmd and args point into words[]. */
struct cf_case {
    const char *path;            /* the file, for reports; not owned */
    uint32_t line;               /* the directive's line, 1-based */
    char directive[CF_LINE_MAX]; /* as written, trimmed, for reports */
    char words[CF_LINE_MAX];     /* directive split in place */
    const char *cmd;
    struct cf_arg args[CF_ARGS_MAX];
    uint32_t n_args;
    char input[CF_INPUT_MAX]; /* lines joined with LF, trimmed */
    uint32_t n_input_lines;   /* 0 when the trimmed input is empty */
    struct cf_buf expected;   /* empty, or LF-terminated lines */
};

/* A vector file, read whole, handed out case by case. */
struct cf_reader {
    const char *path; /* not owned */
    char *data;       /* the file, NUL-terminated; owned */
    size_t len;
    size_t pos;       /* start of the next unread line */
    uint32_t line_no; /* lines consumed so far */
};

/* 0, or NR_EINVAL (unreadable, too large, a NUL byte) naming the file. */
int cf_reader_open(struct cf_reader *r, const char *path, struct nr_err *err);
void cf_reader_close(struct cf_reader *r);

enum cf_read_result {
    CF_READ_END = 0,  /* no case left */
    CF_READ_CASE = 1, /* *c holds the next case */
};

/* The next case of the file: CF_READ_CASE, CF_READ_END, or NR_EINVAL when
 * the case is malformed (c->line and c->directive name it, err says what is
 * wrong). The reader has then skipped the case, so the caller may go on. */
int cf_reader_next(struct cf_reader *r, struct cf_case *c, struct nr_err *err);

enum cf_num_result {
    CF_NUM_OK = 0,
    CF_NUM_SYNTAX = -1, /* empty, or a character other than 0-9 */
    CF_NUM_RANGE = -2,  /* more than 2^64 - 1 */
};

/* A decimal unsigned 64-bit number, digits only: an enum cf_num_result. */
int cf_parse_u64(const char *s, uint64_t *v);

/* ---- suites ---------------------------------------------------------------- */

/* Each runner fills *out with the case's actual output and returns 0, or
 * returns NR_EINVAL when the test data is malformed (err says why; *out is
 * then meaningless). */

/* README 5: `committed` and `vote`; stateless. */
int cf_quorum_run(const struct cf_case *c, struct cf_buf *out, struct nr_err *err);

/* Acknowledged indexes (or votes: 2 yes, 1 no) of the voters a case names,
 * bound to ids by first appearance (README 5.2). */
struct cf_acks {
    uint64_t ids[2 * CF_VALS_MAX];
    uint64_t vals[2 * CF_VALS_MAX];   /* 0 when absent */
    bool is_present[2 * CF_VALS_MAX]; /* false: `_`, no report from this voter */
    uint32_t n;
};

/* The voter's value and whether it reported; 0 and false for an absent or
 * unknown voter. */
bool cf_acks_get(const struct cf_acks *a, uint64_t id, uint64_t *val);

/* The `committed` output (README 5.3, 5.5, 5.7): cfg[] and cfgj[] are the
 * distinct ids of each half, at most RAFT_VOTERS_MAX each. */
void cf_commit_print(struct cf_buf *out, const uint64_t *cfg, uint32_t n_cfg, const uint64_t *cfgj,
                     uint32_t n_cfgj, bool is_joint, const struct cf_acks *acks);
/* An index as the vectors print it: decimal, or `∞` for 2^64 - 1. */
void cf_print_index(struct cf_buf *out, uint64_t index);
/* The pieces of one raft_conf: voters[] incoming, voters_outgoing[] outgoing. */
void cf_conf_of(struct raft_conf *conf, const uint64_t *in, uint32_t n_in, const uint64_t *out,
                uint32_t n_out);

/* README 6: `simple`, `enter-joint`, `leave-joint`; state kept per file. */
struct cf_cc_state {
    struct raft_membership m;
    uint64_t counter; /* cases run in this file ("LastIndex", README 6.1) */
};

void cf_confchange_reset(struct cf_cc_state *st);
/* A case that could not even be read still advances the counter. */
void cf_confchange_skip(struct cf_cc_state *st);
/* Advances st->counter whatever the outcome, as upstream does. */
int cf_confchange_run(struct cf_cc_state *st, const struct cf_case *c, struct cf_buf *out,
                      struct nr_err *err);

/* ---- cf_report.c ----------------------------------------------------------- */

/* Each prints, on stdout, `FAIL FILE:LINE: DIRECTIVE` (or `ok ...`) and the
 * details below it. */
void cf_report_mismatch(const struct cf_case *c, const struct cf_buf *actual);
/* err: NR_EINVAL for malformed test data, NR_ERANGE for data beyond the
 * driver's or the core's limits. */
void cf_report_not_run(const struct cf_case *c, const struct nr_err *err);
void cf_report_pass(const struct cf_case *c);

#endif
