/* scen_args.c - splitting a scenario command line into words and reading
 * key=value arguments strictly: an unknown key or a bad number is an error
 * line in the output, never a silent default. */
#include "scen_args.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int scen_args_split(struct scen_args *a, const char *line)
{
    size_t len = strlen(line);

    memset(a, 0, sizeof(*a));
    if (len >= sizeof(a->text))
        return -1;
    memcpy(a->text, line, len + 1);
    char *save = NULL;
    for (char *w = strtok_r(a->text, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
        if (a->n == SCEN_ARGS_MAX)
            return -1;
        a->v[a->n++] = w;
    }
    return 0;
}

bool scen_parse_u64(const char *s, uint64_t *out)
{
    char *end;

    if (s == NULL || *s < '0' || *s > '9')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0')
        return false;
    *out = (uint64_t)v;
    return true;
}

const char *scen_arg_value(struct scen_args *a, const char *key)
{
    size_t k = strlen(key);

    for (uint32_t i = 0; i < a->n; i++) {
        if (strncmp(a->v[i], key, k) == 0 && a->v[i][k] == '=') {
            a->used |= 1u << i;
            return a->v[i] + k + 1;
        }
    }
    return NULL;
}

int scen_arg_u64(struct scen_args *a, const char *key, uint64_t *out, struct scen_buf *b)
{
    const char *v = scen_arg_value(a, key);

    if (v == NULL)
        return 0;
    if (!scen_parse_u64(v, out)) {
        scen_printf(b, "error: %s=%s is not a number\n", key, v);
        return -1;
    }
    return 1;
}

int scen_arg_bool(struct scen_args *a, const char *key, bool *out, struct scen_buf *b)
{
    const char *v = scen_arg_value(a, key);

    if (v == NULL)
        return 0;
    if (strcmp(v, "true") == 0) {
        *out = true;
        return 1;
    }
    if (strcmp(v, "false") == 0) {
        *out = false;
        return 1;
    }
    scen_printf(b, "error: %s=%s is not true or false\n", key, v);
    return -1;
}

int scen_parse_ids(const char *s, uint64_t *ids, uint32_t max, uint32_t *n)
{
    char buf[256];
    size_t len = strlen(s);

    *n = 0;
    if (len >= sizeof(buf))
        return -1;
    if (s[0] == '(') {
        if (len < 2 || s[len - 1] != ')')
            return -1;
        memcpy(buf, s + 1, len - 2);
        buf[len - 2] = '\0';
    } else {
        memcpy(buf, s, len + 1);
    }
    char *save = NULL;
    for (char *w = strtok_r(buf, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
        if (*n == max || !scen_parse_u64(w, &ids[*n]))
            return -1;
        (*n)++;
    }
    return 0;
}

int scen_args_check_used(const struct scen_args *a, uint32_t n_positional, struct scen_buf *b)
{
    for (uint32_t i = n_positional; i < a->n; i++) {
        if (!(a->used & (1u << i))) {
            scen_printf(b, "error: unexpected argument %s\n", a->v[i]);
            return -1;
        }
    }
    return 0;
}
