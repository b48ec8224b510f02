/* member_int.h - what member_check.c shares with members_wire.c; not for
 * other folders. */
#ifndef NICRAFT_MEMBER_INT_H
#define NICRAFT_MEMBER_INT_H

#include <stdint.h>

#include "nr_err.h"
#include "nr_member.h"

/* 0 when urls[0..n) are n_min .. NR_MEMBER_URLS_MAX valid, distinct URLs
 * (members_wire.h), else NR_EINVAL starting with what. */
int nr_urls_check(const char *what, const char urls[][NR_URL_LEN_MAX], uint32_t n, uint32_t n_min,
                  struct nr_err *err);

#endif
