/* codec_util.c - helpers shared by the codec tests (codec_util.h). */
#include "codec_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc.h"
#include "nr_le.h"

struct dp_frame_addr cu_addr(void)
{
    struct dp_frame_addr a = {
            .cluster_id = CU_CLUSTER,
            .sender_id = CU_ALICE,
            .receiver_id = CU_BOB,
            .group_id = CU_GROUP,
    };
    return a;
}

struct dp_rx_filter cu_bob_filter(void)
{
    struct dp_rx_filter f = {.cluster_id = CU_CLUSTER, .self_id = CU_BOB};
    return f;
}

static uint8_t byte_at(uint64_t seed, uint32_t i)
{
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + i;
    z = (z ^ (z >> 29)) * 0xbf58476d1ce4e5b9ull;
    return (uint8_t)(z >> 56);
}

void cu_fill(uint8_t *buf, uint32_t len, uint64_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        buf[i] = byte_at(seed, i);
}

bool cu_check(const uint8_t *buf, uint32_t len, uint64_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        if (buf[i] != byte_at(seed, i))
            return false;
    return true;
}

void cu_collect_init(struct cu_collect *c)
{
    memset(c, 0, sizeof(*c));
    c->bytes = malloc(CU_COLLECT_BYTES);
    if (c->bytes == NULL) {
        fprintf(stderr, "codec tests: out of memory\n");
        exit(2);
    }
}

void cu_collect_reset(struct cu_collect *c)
{
    c->n = 0;
    c->used = 0;
    c->n_overflow = 0;
}

void cu_collect_free(struct cu_collect *c)
{
    free(c->bytes);
    c->bytes = NULL;
}

void cu_collect_fn(void *ctx, const struct dp_msg *m)
{
    struct cu_collect *c = ctx;

    if (c->n >= CU_COLLECT_MAX || m->len > CU_COLLECT_BYTES - c->used) {
        c->n_overflow++;
        return;
    }
    c->kind[c->n] = m->kind;
    c->len[c->n] = m->len;
    c->group_id[c->n] = m->group_id;
    c->sender_id[c->n] = m->sender_id;
    c->off[c->n] = c->used;
    if (m->len > 0)
        memcpy(c->bytes + c->used, m->data, m->len);
    c->used += m->len;
    c->n++;
}

uint64_t cu_drops_total(const struct dp_stats *st)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < DP_DROP_COUNT; i++)
        n += st->drops[i];
    return n;
}

void cu_refresh_crc(uint8_t *frame, uint32_t len)
{
    uint32_t crc = nr_crc32c(0, frame, CU_OFF_CRC);
    crc = nr_crc32c(crc, frame + DP_HDR_LEN, len - DP_HDR_LEN);
    nr_put_le32(frame + CU_OFF_CRC, crc);
}

void cu_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
