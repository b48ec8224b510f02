/* scen_args.h - words and key=value arguments of one scenario command. */
#ifndef NICRAFT_SCEN_ARGS_H
#define NICRAFT_SCEN_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "scen.h"

#define SCEN_ARGS_MAX 32

struct scen_args {
    char text[1024];
    char *v[SCEN_ARGS_MAX]; /* words, pointing into text */
    uint32_t n;
    uint32_t used; /* bit i: v[i] was read as key=value */
};

/* Splits line on blanks. -1 when it is too long or has too many words. */
int scen_args_split(struct scen_args *a, const char *line);
/* Decimal only; false on anything else. */
bool scen_parse_u64(const char *s, uint64_t *out);
/* The value of key=value, or NULL; marks the word used. */
const char *scen_arg_value(struct scen_args *a, const char *key);
/* 1 found, 0 absent, -1 malformed (an error line printed). */
int scen_arg_u64(struct scen_args *a, const char *key, uint64_t *out, struct scen_buf *b);
int scen_arg_bool(struct scen_args *a, const char *key, bool *out, struct scen_buf *b);
/* "(1,2,3)" or "1,2,3" into ids[]; -1 when malformed or more than max. */
int scen_parse_ids(const char *s, uint64_t *ids, uint32_t max, uint32_t *n);
/* -1 (an error line printed) when a word after the positional ones was not used. */
int scen_args_check_used(const struct scen_args *a, uint32_t n_positional, struct scen_buf *b);

#endif
