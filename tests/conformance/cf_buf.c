/* cf_buf.c - bounded text for the expected and actual output of one case.
 * A case's output is at most a chart of a few dozen lines; CF_OUT_MAX is far
 * above that, and a cut output is flagged so it is reported, not compared. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cf.h"

void cf_buf_reset(struct cf_buf *b)
{
    b->len = 0;
    b->is_overflow = false;
    b->data[0] = '\0';
}

void cf_buf_put(struct cf_buf *b, const char *s, size_t len)
{
    size_t room = sizeof(b->data) - 1 - b->len;

    if (len > room) {
        len = room;
        b->is_overflow = true;
    }
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void cf_buf_puts(struct cf_buf *b, const char *s)
{
    cf_buf_put(b, s, strlen(s));
}

void cf_buf_printf(struct cf_buf *b, const char *fmt, ...)
{
    size_t room = sizeof(b->data) - b->len;
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, room, fmt, ap);
    va_end(ap);
    NR_ASSERT(n >= 0);
    if ((size_t)n >= room) {
        b->len = sizeof(b->data) - 1;
        b->is_overflow = true;
        return;
    }
    b->len += (size_t)n;
}
