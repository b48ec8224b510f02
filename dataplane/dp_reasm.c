/* dp_reasm.c - bounded reassembly of fragmented messages (dp_reasm.h), and
 * dp_rx_payload, the receive path that decodes, reassembles and delivers.
 *
 * Slots are found by a linear scan: n_slots is tens on a poller (partial
 * messages in flight from a handful of peers), and a scan of contiguous
 * small structs beats a hash table at that size. */
#include "dp_reasm.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum slot_state {
    SLOT_FREE = 0,
    SLOT_PARTIAL,   /* fragments arriving */
    SLOT_DELIVERED, /* handed out by the last dp_reasm_add; freed on the next call */
};

#define LAST_OFFSET_UNKNOWN UINT32_MAX

struct slot {
    uint8_t state;
    uint16_t kind;
    uint16_t count;      /* fragments in the message */
    uint16_t n_received; /* distinct fragments held */
    uint32_t group_id;
    uint32_t msg_id;
    uint64_t sender_id;
    uint64_t opened_ns;
    uint32_t total_len;
    uint32_t piece_len;   /* length of every fragment but the last; 0: not seen yet */
    uint32_t last_offset; /* offset of the last fragment; LAST_OFFSET_UNKNOWN */
    uint8_t *data;        /* msg_len_max bytes */
    uint64_t *bits;       /* fragments held, one bit per index */
};

struct dp_reasm {
    struct dp_reasm_config cfg;
    uint32_t n_in_use;  /* slots not SLOT_FREE */
    uint32_t bit_words; /* per slot */
    uint32_t delivered; /* index of the SLOT_DELIVERED slot, or UINT32_MAX */
    struct slot *slots;
    uint8_t *data;
    uint64_t *bits;
};

/* A message has at most one fragment per byte, and at most DP_FRAG_COUNT_MAX. */
static uint32_t frags_max(const struct dp_reasm_config *cfg)
{
    return cfg->msg_len_max < DP_FRAG_COUNT_MAX ? cfg->msg_len_max : DP_FRAG_COUNT_MAX;
}

static int check_config(const struct dp_reasm_config *cfg, struct nr_err *err)
{
    if (cfg->n_slots < 1 || cfg->n_slots > DP_REASM_SLOTS_MAX)
        return nr_errf(err, NR_EINVAL, "reassembly n_slots %" PRIu32 " is outside 1..%u",
                       cfg->n_slots, DP_REASM_SLOTS_MAX);
    if (cfg->msg_len_max < 1 || cfg->msg_len_max > DP_REASM_MSG_LEN_MAX)
        return nr_errf(err, NR_EINVAL, "reassembly msg_len_max %" PRIu32 " is outside 1..%u",
                       cfg->msg_len_max, DP_REASM_MSG_LEN_MAX);
    if (cfg->timeout_ns == 0)
        return nr_errf(err, NR_EINVAL, "reassembly timeout_ns is 0; it must be positive");
    return 0;
}

int dp_reasm_create(const struct dp_reasm_config *cfg, struct dp_reasm **out, struct nr_err *err)
{
    int rc = check_config(cfg, err);
    if (rc != 0)
        return rc;
    struct dp_reasm *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return nr_errf(err, NR_ENOMEM, "reassembly buffer: out of memory");
    r->cfg = *cfg;
    r->bit_words = (frags_max(cfg) + 63) / 64;
    r->delivered = UINT32_MAX;
    size_t data_len = (size_t)cfg->n_slots * cfg->msg_len_max;
    r->slots = calloc(cfg->n_slots, sizeof(r->slots[0]));
    r->data = malloc(data_len);
    r->bits = calloc((size_t)cfg->n_slots * r->bit_words, sizeof(uint64_t));
    if (r->slots == NULL || r->data == NULL || r->bits == NULL) {
        dp_reasm_destroy(r);
        return nr_errf(err, NR_ENOMEM,
                       "reassembly buffer of %" PRIu32 " slots x %" PRIu32
                       " bytes (%zu bytes): out of memory",
                       cfg->n_slots, cfg->msg_len_max, data_len);
    }
    for (uint32_t i = 0; i < cfg->n_slots; i++) {
        r->slots[i].data = r->data + (size_t)i * cfg->msg_len_max;
        r->slots[i].bits = r->bits + (size_t)i * r->bit_words;
    }
    *out = r;
    return 0;
}

void dp_reasm_destroy(struct dp_reasm *r)
{
    if (r == NULL)
        return;
    free(r->slots);
    free(r->data);
    free(r->bits);
    free(r);
}

uint32_t dp_reasm_in_use(const struct dp_reasm *r)
{
    return r->n_in_use - (r->delivered != UINT32_MAX ? 1u : 0u);
}

static void slot_free(struct dp_reasm *r, struct slot *s)
{
    NR_ASSERT(s->state != SLOT_FREE);
    NR_ASSERT(r->n_in_use > 0);
    s->state = SLOT_FREE;
    r->n_in_use--;
}

/* The message handed out by the previous call is no longer borrowed. */
static void release_delivered(struct dp_reasm *r)
{
    if (r->delivered == UINT32_MAX)
        return;
    NR_ASSERT(r->slots[r->delivered].state == SLOT_DELIVERED);
    slot_free(r, &r->slots[r->delivered]);
    r->delivered = UINT32_MAX;
}

static uint32_t expire(struct dp_reasm *r, uint64_t now_ns, struct dp_stats *stats)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < r->cfg.n_slots && r->n_in_use > 0; i++) {
        struct slot *s = &r->slots[i];
        /* now_ns before opened_ns (a clock from another source) never expires early. */
        if (s->state != SLOT_PARTIAL || now_ns < s->opened_ns ||
            now_ns - s->opened_ns <= r->cfg.timeout_ns)
            continue;
        slot_free(r, s);
        n++;
        if (stats != NULL)
            stats->drops[DP_DROP_REASM_TIMEOUT]++;
    }
    return n;
}

uint32_t dp_reasm_expire(struct dp_reasm *r, uint64_t now_ns, struct dp_stats *stats)
{
    release_delivered(r);
    return expire(r, now_ns, stats);
}

static struct slot *slot_find(struct dp_reasm *r, const struct dp_frame_view *v)
{
    for (uint32_t i = 0; i < r->cfg.n_slots; i++) {
        struct slot *s = &r->slots[i];
        if (s->state == SLOT_PARTIAL && s->msg_id == v->frag_msg_id &&
            s->sender_id == v->sender_id && s->group_id == v->group_id)
            return s;
    }
    return NULL;
}

static struct slot *slot_open(struct dp_reasm *r, const struct dp_frame_view *v, uint16_t kind,
                              uint64_t now_ns)
{
    if (r->n_in_use >= r->cfg.n_slots)
        return NULL;
    for (uint32_t i = 0; i < r->cfg.n_slots; i++) {
        struct slot *s = &r->slots[i];
        if (s->state != SLOT_FREE)
            continue;
        s->state = SLOT_PARTIAL;
        s->kind = kind;
        s->count = v->frag_count;
        s->n_received = 0;
        s->group_id = v->group_id;
        s->msg_id = v->frag_msg_id;
        s->sender_id = v->sender_id;
        s->opened_ns = now_ns;
        s->total_len = v->frag_total_len;
        s->piece_len = 0;
        s->last_offset = LAST_OFFSET_UNKNOWN;
        memset(s->bits, 0, r->bit_words * sizeof(uint64_t));
        r->n_in_use++;
        return s;
    }
    NR_ASSERT(!"n_in_use below n_slots but no free slot");
    return NULL;
}

/* Does this fragment agree with what its message's slot knows? Learns the
 * piece length and last offset on the way. Pieces but the last all have
 * piece_len bytes at index * piece_len; the last ends at total_len; so
 * count distinct indexes that pass cover the message exactly once. */
static bool fits_geometry(struct slot *s, const struct dp_frame_view *v, uint16_t kind,
                          uint32_t piece, struct nr_err *err)
{
    if (v->frag_count != s->count || v->frag_total_len != s->total_len || kind != s->kind) {
        nr_errf(err, NR_EINVAL,
                "fragment %u of message %" PRIu32 " from %016" PRIx64
                " says count %u, length %" PRIu32 ", kind %u; earlier ones said %u, %" PRIu32
                ", %u",
                v->frag_index, v->frag_msg_id, v->sender_id, v->frag_count, v->frag_total_len, kind,
                s->count, s->total_len, s->kind);
        return false;
    }
    bool is_last = v->frag_index == s->count - 1;
    if (is_last && v->frag_offset + piece != s->total_len) {
        nr_errf(err, NR_EINVAL,
                "last fragment of message %" PRIu32 " ends at %" PRIu32
                ", not at its length %" PRIu32,
                v->frag_msg_id, v->frag_offset + piece, s->total_len);
        return false;
    }
    if (is_last)
        s->last_offset = v->frag_offset;
    else if (s->piece_len == 0)
        s->piece_len = piece;
    uint64_t expect_off = (uint64_t)v->frag_index * s->piece_len;
    uint64_t last_start = (uint64_t)(s->count - 1) * s->piece_len;
    bool ok = s->piece_len == 0 ||
              ((is_last || piece == s->piece_len) && (is_last || v->frag_offset == expect_off) &&
               last_start < s->total_len && s->total_len - last_start <= s->piece_len &&
               (s->last_offset == LAST_OFFSET_UNKNOWN || s->last_offset == last_start));
    if (!ok)
        nr_errf(err, NR_EINVAL,
                "fragment %u of message %" PRIu32 " from %016" PRIx64 ": %" PRIu32
                " bytes at offset %" PRIu32 " disagree with pieces of %" PRIu32
                " bytes over %" PRIu32 " bytes in %u fragments",
                v->frag_index, v->frag_msg_id, v->sender_id, piece, v->frag_offset, s->piece_len,
                s->total_len, s->count);
    return ok;
}

/* A new message: too big, or no room. Returns the slot or NULL with err. */
static struct slot *open_for(struct dp_reasm *r, const struct dp_frame_view *v, uint16_t kind,
                             uint64_t now_ns, enum dp_drop *reason, struct nr_err *err)
{
    if (v->frag_count > v->frag_total_len) {
        *reason = DP_DROP_FRAG_MISMATCH;
        nr_errf(err, NR_EINVAL,
                "fragmented message %" PRIu32 " from %016" PRIx64 " claims %u "
                "fragments for %" PRIu32 " bytes (at least a byte each)",
                v->frag_msg_id, v->sender_id, v->frag_count, v->frag_total_len);
        return NULL;
    }
    if (v->frag_total_len > r->cfg.msg_len_max) {
        *reason = DP_DROP_REASM_TOO_BIG;
        nr_errf(err, NR_ERANGE,
                "fragmented message %" PRIu32 " from %016" PRIx64 " of %" PRIu32
                " bytes in %u fragments exceeds the reassembly limit of %" PRIu32 " bytes",
                v->frag_msg_id, v->sender_id, v->frag_total_len, v->frag_count, r->cfg.msg_len_max);
        return NULL;
    }
    struct slot *s = slot_open(r, v, kind, now_ns);
    if (s == NULL) {
        *reason = DP_DROP_REASM_FULL;
        nr_errf(err, NR_EBUSY,
                "fragment %u of message %" PRIu32 " from %016" PRIx64 ": all %" PRIu32
                " reassembly slots hold younger messages",
                v->frag_index, v->frag_msg_id, v->sender_id, r->cfg.n_slots);
    }
    return s;
}

static int err_code_of(enum dp_drop reason)
{
    if (reason == DP_DROP_REASM_FULL)
        return NR_EBUSY;
    return reason == DP_DROP_REASM_TOO_BIG ? NR_ERANGE : NR_EINVAL;
}

static int count_drop(struct dp_stats *stats, enum dp_drop reason, int code)
{
    if (stats != NULL)
        stats->drops[reason]++;
    return code;
}

int dp_reasm_add(struct dp_reasm *r, const struct dp_frame_view *v, uint64_t now_ns,
                 struct dp_msg *m, struct dp_stats *stats, struct nr_err *err)
{
    dp_reasm_expire(r, now_ns, stats);
    if (!dp_frame_is_frag(v) || v->n_msgs != 1 || v->payload_len < DP_MSG_HDR_LEN) {
        nr_errf(err, NR_EINVAL, "frame with flags 0x%02x and %u records is no fragment", v->flags,
                v->n_msgs);
        return count_drop(stats, DP_DROP_BAD_FIELD, NR_EINVAL);
    }
    struct dp_msg_iter it;
    struct dp_msg rec;
    dp_msg_iter_init(&it, v);
    bool has_record = dp_msg_iter_next(&it, &rec);
    NR_ASSERT(has_record);
    struct slot *s = slot_find(r, v);
    if (s == NULL) {
        enum dp_drop reason = DP_DROP_COUNT;
        s = open_for(r, v, rec.kind, now_ns, &reason, err);
        if (s == NULL)
            return count_drop(stats, reason, err_code_of(reason));
    }
    if (!fits_geometry(s, v, rec.kind, rec.len, err)) {
        slot_free(r, s);
        return count_drop(stats, DP_DROP_FRAG_MISMATCH, NR_EINVAL);
    }
    uint64_t bit = UINT64_C(1) << (v->frag_index % 64);
    if ((s->bits[v->frag_index / 64] & bit) != 0)
        return count_drop(stats, DP_DROP_FRAG_DUPLICATE, 0);
    s->bits[v->frag_index / 64] |= bit;
    /* decode checked offset + len <= total_len <= msg_len_max (open_for). */
    memcpy(s->data + v->frag_offset, rec.data, rec.len);
    s->n_received++;
    if (stats != NULL)
        stats->rx_frags++;
    if (s->n_received < s->count)
        return 0;
    s->state = SLOT_DELIVERED;
    r->delivered = (uint32_t)(s - r->slots);
    *m = (struct dp_msg){.data = s->data,
                         .len = s->total_len,
                         .kind = s->kind,
                         .group_id = s->group_id,
                         .sender_id = s->sender_id};
    if (stats != NULL)
        stats->rx_reassembled++;
    return 1;
}

static void msg_set_src(struct dp_msg *m, const struct dp_rx_src *src)
{
    m->src_ipv4 = src->ipv4;
    m->src_port = src->port;
    m->local_idx = src->local_idx;
}

int dp_rx_payload(const struct dp_rx_filter *filter, struct dp_reasm *r, const uint8_t *buf,
                  uint32_t len, uint64_t now_ns, dp_msg_fn *fn, void *ctx, struct dp_stats *stats,
                  struct nr_err *err)
{
    static const struct dp_rx_src unknown;

    return dp_rx_payload_from(filter, r, &unknown, buf, len, now_ns, fn, ctx, stats, err);
}

int dp_rx_payload_from(const struct dp_rx_filter *filter, struct dp_reasm *r,
                       const struct dp_rx_src *src, const uint8_t *buf, uint32_t len,
                       uint64_t now_ns, dp_msg_fn *fn, void *ctx, struct dp_stats *stats,
                       struct nr_err *err)
{
    struct dp_frame_view v;
    struct dp_msg m;

    NR_ASSERT(stats != NULL);
    NR_ASSERT(src != NULL);
    int rc = dp_frame_decode(filter, buf, len, &v, stats, NULL, err);
    if (rc != 0)
        return rc;
    if (dp_frame_is_frag(&v)) {
        if (r == NULL) {
            nr_errf(err, NR_EBUSY,
                    "fragment of message %" PRIu32 " from %016" PRIx64
                    ": this receiver has no reassembly buffer",
                    v.frag_msg_id, v.sender_id);
            return count_drop(stats, DP_DROP_REASM_FULL, NR_EBUSY);
        }
        rc = dp_reasm_add(r, &v, now_ns, &m, stats, err);
        if (rc <= 0)
            return rc;
        msg_set_src(&m, src);
        stats->rx_msgs++;
        fn(ctx, &m);
        return 1;
    }
    struct dp_msg_iter it;
    int n = 0;
    dp_msg_iter_init(&it, &v);
    msg_set_src(&m, src);
    while (dp_msg_iter_next(&it, &m)) { /* bounded: n_msgs <= DP_FRAME_MSGS_MAX */
        fn(ctx, &m);
        n++;
    }
    stats->rx_msgs += (uint64_t)n;
    return n;
}
