/* dp_frame.c - nicraft frames: header layout, the builder (batching up to
 * the frame capacity), the fragmenter, and the in-place decoder with its
 * receive filter and drop counters. Layout in dp_frame.h. */
#include "dp_frame.h"

#include <inttypes.h>
#include <string.h>

#include "crc.h"
#include "nr_le.h"

/* Header offsets (dp_frame.h's table). */
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 4,
    OFF_FLAGS = 5,
    OFF_N_MSGS = 6,
    OFF_CLUSTER = 8,
    OFF_SENDER = 16,
    OFF_RECEIVER = 24,
    OFF_GROUP = 32,
    OFF_PAYLOAD_LEN = 36,
    OFF_FRAG_MSG_ID = 40,
    OFF_FRAG_INDEX = 44,
    OFF_FRAG_COUNT = 46,
    OFF_FRAG_OFFSET = 48,
    OFF_FRAG_TOTAL = 52,
    OFF_RESERVED = 56,
    OFF_CRC = 60,
};
_Static_assert(OFF_CRC + 4 == DP_HDR_LEN, "header layout");
_Static_assert(DP_FRAME_CAP_MIN >= DP_HDR_LEN + DP_MSG_HDR_LEN + 16, "minimum capacity");

static const char *const drop_names[DP_DROP_COUNT] = {
        [DP_DROP_TRUNCATED] = "truncated",           [DP_DROP_BAD_MAGIC] = "bad_magic",
        [DP_DROP_BAD_VERSION] = "bad_version",       [DP_DROP_BAD_LENGTH] = "bad_length",
        [DP_DROP_BAD_CHECKSUM] = "bad_checksum",     [DP_DROP_BAD_FIELD] = "bad_field",
        [DP_DROP_OTHER_CLUSTER] = "other_cluster",   [DP_DROP_NOT_FOR_US] = "not_for_us",
        [DP_DROP_BAD_SENDER] = "bad_sender",         [DP_DROP_FRAG_MISMATCH] = "frag_mismatch",
        [DP_DROP_FRAG_DUPLICATE] = "frag_duplicate", [DP_DROP_REASM_TOO_BIG] = "reasm_too_big",
        [DP_DROP_REASM_FULL] = "reasm_full",         [DP_DROP_REASM_TIMEOUT] = "reasm_timeout",
};

const char *dp_drop_name(unsigned reason)
{
    if (reason >= DP_DROP_COUNT)
        return "unknown";
    return drop_names[reason];
}

uint32_t dp_frame_cap_for_mtu(uint32_t mtu)
{
    if (mtu < DP_MTU_MIN || mtu > DP_MTU_JUMBO_MAX)
        return 0;
    return mtu - DP_IPV4_UDP_OVERHEAD;
}

uint32_t dp_frame_msg_max(uint32_t cap)
{
    if (cap < DP_HDR_LEN + DP_MSG_HDR_LEN)
        return 0;
    return cap - DP_HDR_LEN - DP_MSG_HDR_LEN;
}

/* Fragment fields of a header; all zero in a frame of whole messages. */
struct frag_fields {
    uint32_t msg_id;
    uint16_t index;
    uint16_t count;
    uint32_t offset;
    uint32_t total_len;
};

/* The frame's CRC32C: header bytes 0..59, then the payload after the CRC
 * field, in one pass (nr_crc32c_skip). */
static uint32_t frame_crc(const uint8_t *buf, uint32_t payload_len)
{
    return nr_crc32c_skip(0, buf, OFF_CRC, DP_HDR_LEN - OFF_CRC, payload_len);
}

/* Writes the header for payload_len bytes already at buf + DP_HDR_LEN and
 * the CRC over both. */
static void write_header(uint8_t *buf, const struct dp_frame_addr *a, uint8_t flags,
                         uint16_t n_msgs, uint32_t payload_len, const struct frag_fields *ff)
{
    nr_put_le32(buf + OFF_MAGIC, DP_MAGIC);
    buf[OFF_VERSION] = (uint8_t)DP_VERSION;
    buf[OFF_FLAGS] = flags;
    nr_put_le16(buf + OFF_N_MSGS, n_msgs);
    nr_put_le64(buf + OFF_CLUSTER, a->cluster_id);
    nr_put_le64(buf + OFF_SENDER, a->sender_id);
    nr_put_le64(buf + OFF_RECEIVER, a->receiver_id);
    nr_put_le32(buf + OFF_GROUP, a->group_id);
    nr_put_le32(buf + OFF_PAYLOAD_LEN, payload_len);
    nr_put_le32(buf + OFF_FRAG_MSG_ID, ff->msg_id);
    nr_put_le16(buf + OFF_FRAG_INDEX, ff->index);
    nr_put_le16(buf + OFF_FRAG_COUNT, ff->count);
    nr_put_le32(buf + OFF_FRAG_OFFSET, ff->offset);
    nr_put_le32(buf + OFF_FRAG_TOTAL, ff->total_len);
    nr_put_le32(buf + OFF_RESERVED, 0);
    nr_put_le32(buf + OFF_CRC, frame_crc(buf, payload_len));
}

static void write_record_header(uint8_t *p, uint16_t kind, uint32_t len)
{
    nr_put_le16(p, kind);
    nr_put_le16(p + 2, 0);
    nr_put_le32(p + 4, len);
}

/* ---- Builder ---- */

void dp_builder_init(struct dp_builder *b, const struct dp_frame_addr *addr, uint8_t *buf,
                     uint32_t cap)
{
    NR_ASSERT(buf != NULL);
    NR_ASSERT(cap >= DP_FRAME_CAP_MIN);
    NR_ASSERT(cap <= DP_FRAME_LEN_MAX);
    NR_ASSERT(addr->cluster_id != 0);
    NR_ASSERT(addr->sender_id != 0);
    b->buf = buf;
    b->cap = cap;
    b->addr = *addr;
    dp_builder_reset(b);
}

void dp_builder_reset(struct dp_builder *b)
{
    b->len = DP_HDR_LEN;
    b->n_msgs = 0;
}

uint8_t *dp_builder_reserve(struct dp_builder *b, uint16_t kind, uint32_t len)
{
    NR_ASSERT(b->len >= DP_HDR_LEN);
    NR_ASSERT(b->len <= b->cap);
    if (b->n_msgs >= DP_FRAME_MSGS_MAX)
        return NULL;
    /* len may be near UINT32_MAX: compare without overflow. */
    uint32_t room = b->cap - b->len;
    if (room < DP_MSG_HDR_LEN || len > room - DP_MSG_HDR_LEN)
        return NULL;
    uint8_t *p = b->buf + b->len;
    write_record_header(p, kind, len);
    b->len += DP_MSG_HDR_LEN + len;
    b->n_msgs++;
    return p + DP_MSG_HDR_LEN;
}

int dp_builder_add(struct dp_builder *b, uint16_t kind, const void *data, uint32_t len,
                   struct nr_err *err)
{
    if (len > dp_frame_msg_max(b->cap))
        return nr_errf(err, NR_EINVAL,
                       "message of %" PRIu32 " bytes (kind %u) cannot fit a frame of %" PRIu32
                       " bytes (at most %" PRIu32 " per message): fragment it",
                       len, kind, b->cap, dp_frame_msg_max(b->cap));
    uint8_t *p = dp_builder_reserve(b, kind, len);
    if (p == NULL)
        return NR_EBUSY;
    if (len > 0)
        memcpy(p, data, len);
    return 0;
}

uint32_t dp_builder_finish(struct dp_builder *b)
{
    static const struct frag_fields no_frag;

    if (b->n_msgs == 0)
        return 0;
    write_header(b->buf, &b->addr, 0, b->n_msgs, b->len - DP_HDR_LEN, &no_frag);
    return b->len;
}

/* ---- Fragmenter ---- */

int dp_frag_init(struct dp_fragmenter *f, const struct dp_frame_addr *addr, uint32_t msg_id,
                 uint16_t kind, const void *data, uint32_t len, uint32_t cap, struct nr_err *err)
{
    if (cap < DP_FRAME_CAP_MIN || cap > DP_FRAME_LEN_MAX)
        return nr_errf(err, NR_EINVAL, "frame capacity %" PRIu32 " is outside %u..%u bytes", cap,
                       DP_FRAME_CAP_MIN, DP_FRAME_LEN_MAX);
    uint32_t piece = dp_frame_msg_max(cap);
    if (len <= piece)
        return nr_errf(err, NR_EINVAL,
                       "message of %" PRIu32 " bytes fits one frame of %" PRIu32
                       " bytes: append it whole",
                       len, cap);
    uint64_t count = ((uint64_t)len + piece - 1) / piece;
    if (count > DP_FRAG_COUNT_MAX)
        return nr_errf(err, NR_EINVAL,
                       "message of %" PRIu32 " bytes needs %" PRIu64 " fragments of %" PRIu32
                       " bytes, more than %u",
                       len, count, piece, DP_FRAG_COUNT_MAX);
    NR_ASSERT(addr->cluster_id != 0);
    NR_ASSERT(addr->sender_id != 0);
    f->addr = *addr;
    f->data = data;
    f->len = len;
    f->piece_len = piece;
    f->msg_id = msg_id;
    f->kind = kind;
    f->count = (uint16_t)count;
    f->next_index = 0;
    return 0;
}

uint32_t dp_frag_next(struct dp_fragmenter *f, uint8_t *buf, uint32_t buf_len)
{
    if (f->next_index >= f->count)
        return 0;
    uint32_t offset = (uint32_t)f->next_index * f->piece_len;
    NR_ASSERT(offset < f->len);
    uint32_t piece = f->len - offset < f->piece_len ? f->len - offset : f->piece_len;
    NR_ASSERT(buf_len >= DP_HDR_LEN + DP_MSG_HDR_LEN + piece);
    write_record_header(buf + DP_HDR_LEN, f->kind, piece);
    memcpy(buf + DP_HDR_LEN + DP_MSG_HDR_LEN, f->data + offset, piece);
    struct frag_fields ff = {
            .msg_id = f->msg_id,
            .index = f->next_index,
            .count = f->count,
            .offset = offset,
            .total_len = f->len,
    };
    write_header(buf, &f->addr, DP_HDR_F_FRAG, 1, DP_MSG_HDR_LEN + piece, &ff);
    f->next_index++;
    return DP_HDR_LEN + DP_MSG_HDR_LEN + piece;
}

/* ---- Decoding ---- */

bool dp_frame_peek_group(const uint8_t *buf, uint32_t len, uint32_t *group_id)
{
    if (len < DP_HDR_LEN)
        return false;
    *group_id = nr_get_le32(buf + OFF_GROUP);
    return true;
}

static void read_header(const uint8_t *buf, struct dp_frame_view *v)
{
    v->flags = buf[OFF_FLAGS];
    v->n_msgs = nr_get_le16(buf + OFF_N_MSGS);
    v->cluster_id = nr_get_le64(buf + OFF_CLUSTER);
    v->sender_id = nr_get_le64(buf + OFF_SENDER);
    v->receiver_id = nr_get_le64(buf + OFF_RECEIVER);
    v->group_id = nr_get_le32(buf + OFF_GROUP);
    v->payload_len = nr_get_le32(buf + OFF_PAYLOAD_LEN);
    v->frag_msg_id = nr_get_le32(buf + OFF_FRAG_MSG_ID);
    v->frag_index = nr_get_le16(buf + OFF_FRAG_INDEX);
    v->frag_count = nr_get_le16(buf + OFF_FRAG_COUNT);
    v->frag_offset = nr_get_le32(buf + OFF_FRAG_OFFSET);
    v->frag_total_len = nr_get_le32(buf + OFF_FRAG_TOTAL);
    v->payload = buf + DP_HDR_LEN;
}

/* Magic, version and the length fields: the checks before the CRC, which
 * needs payload_len to be right. Returns the drop reason or DP_DROP_COUNT. */
static enum dp_drop check_outer(const uint8_t *buf, uint32_t len, const struct dp_frame_view *v,
                                struct nr_err *err)
{
    if (len < DP_HDR_LEN) {
        nr_errf(err, NR_EINVAL, "frame of %" PRIu32 " bytes is shorter than the %u-byte header",
                len, DP_HDR_LEN);
        return DP_DROP_TRUNCATED;
    }
    uint32_t magic = nr_get_le32(buf + OFF_MAGIC);
    if (magic != DP_MAGIC) {
        nr_errf(err, NR_EINVAL, "frame magic 0x%08" PRIx32 " is not nicraft's 0x%08" PRIx32, magic,
                DP_MAGIC);
        return DP_DROP_BAD_MAGIC;
    }
    if (buf[OFF_VERSION] != DP_VERSION) {
        nr_errf(err, NR_EINVAL, "frame version %u is not the supported version %u",
                buf[OFF_VERSION], DP_VERSION);
        return DP_DROP_BAD_VERSION;
    }
    if (v->payload_len != len - DP_HDR_LEN) {
        nr_errf(err, NR_EINVAL,
                "frame payload_len %" PRIu32 " disagrees with the %" PRIu32
                " payload bytes received",
                v->payload_len, len - DP_HDR_LEN);
        return DP_DROP_BAD_LENGTH;
    }
    return DP_DROP_COUNT;
}

/* Flags, reserved bits and fragment fields (after the CRC matched, so a
 * mismatch here is the sender's bug or an attack, not line noise). */
static enum dp_drop check_fields(const uint8_t *buf, const struct dp_frame_view *v,
                                 struct nr_err *err)
{
    uint32_t reserved = nr_get_le32(buf + OFF_RESERVED);
    if ((v->flags & ~DP_HDR_F_KNOWN) != 0 || reserved != 0) {
        nr_errf(err, NR_EINVAL,
                "frame flags 0x%02x or reserved 0x%08" PRIx32
                " has bits this version does not define",
                v->flags, reserved);
        return DP_DROP_BAD_FIELD;
    }
    if (!dp_frame_is_frag(v)) {
        if (v->frag_msg_id != 0 || v->frag_index != 0 || v->frag_count != 0 ||
            v->frag_offset != 0 || v->frag_total_len != 0) {
            nr_errf(err, NR_EINVAL,
                    "frame without the fragment flag has fragment fields set "
                    "(msg_id %" PRIu32 ", index %u, count %u)",
                    v->frag_msg_id, v->frag_index, v->frag_count);
            return DP_DROP_BAD_FIELD;
        }
        return DP_DROP_COUNT;
    }
    if (v->n_msgs != 1 || v->frag_count < 2 || v->frag_index >= v->frag_count) {
        nr_errf(err, NR_EINVAL,
                "fragment with n_msgs %u, index %u of count %u "
                "(want 1 record, count >= 2, index < count)",
                v->n_msgs, v->frag_index, v->frag_count);
        return DP_DROP_BAD_FIELD;
    }
    return DP_DROP_COUNT;
}

/* The records: n_msgs bounded, each inside the payload, together filling
 * it; in a fragment, the piece inside the message's total length. */
static enum dp_drop check_records(const struct dp_frame_view *v, struct nr_err *err)
{
    if (v->n_msgs == 0 || v->n_msgs > DP_FRAME_MSGS_MAX) {
        nr_errf(err, NR_EINVAL, "frame n_msgs %u is outside 1..%u", v->n_msgs, DP_FRAME_MSGS_MAX);
        return DP_DROP_BAD_LENGTH;
    }
    uint32_t at = 0;
    for (uint32_t i = 0; i < v->n_msgs; i++) {
        if (v->payload_len - at < DP_MSG_HDR_LEN) {
            nr_errf(err, NR_EINVAL,
                    "record %" PRIu32 " of %u starts at payload offset %" PRIu32
                    " with no room for its header (payload %" PRIu32 " bytes)",
                    i, v->n_msgs, at, v->payload_len);
            return DP_DROP_BAD_LENGTH;
        }
        const uint8_t *p = v->payload + at;
        uint32_t len = nr_get_le32(p + 4);
        if (nr_get_le16(p + 2) != 0) {
            nr_errf(err, NR_EINVAL, "record %" PRIu32 " has reserved field 0x%04x set", i,
                    nr_get_le16(p + 2));
            return DP_DROP_BAD_FIELD;
        }
        at += DP_MSG_HDR_LEN;
        if (len > v->payload_len - at) {
            nr_errf(err, NR_EINVAL,
                    "record %" PRIu32 " length %" PRIu32 " runs past the payload (%" PRIu32
                    " bytes left)",
                    i, len, v->payload_len - at);
            return DP_DROP_BAD_LENGTH;
        }
        at += len;
    }
    if (at != v->payload_len) {
        nr_errf(err, NR_EINVAL, "records end at %" PRIu32 " but payload_len is %" PRIu32, at,
                v->payload_len);
        return DP_DROP_BAD_LENGTH;
    }
    if (!dp_frame_is_frag(v))
        return DP_DROP_COUNT;
    uint32_t piece = v->payload_len - DP_MSG_HDR_LEN;
    if (piece == 0 || v->frag_offset > v->frag_total_len ||
        piece > v->frag_total_len - v->frag_offset) {
        nr_errf(err, NR_EINVAL,
                "fragment of %" PRIu32 " bytes at offset %" PRIu32
                " lies outside the message's %" PRIu32 " bytes",
                piece, v->frag_offset, v->frag_total_len);
        return DP_DROP_BAD_LENGTH;
    }
    return DP_DROP_COUNT;
}

/* Our cluster, for us (or broadcast), from someone else. */
static enum dp_drop check_filter(const struct dp_rx_filter *f, const struct dp_frame_view *v,
                                 struct nr_err *err)
{
    if (v->cluster_id != f->cluster_id) {
        nr_errf(err, NR_EREFUSED,
                "frame from cluster %016" PRIx64 " (member %016" PRIx64
                ") is not for our cluster %016" PRIx64,
                v->cluster_id, v->sender_id, f->cluster_id);
        return DP_DROP_OTHER_CLUSTER;
    }
    if (v->receiver_id != f->self_id && v->receiver_id != DP_MEMBER_BROADCAST) {
        nr_errf(err, NR_EUNKNOWN, "frame for member %016" PRIx64 " reached member %016" PRIx64,
                v->receiver_id, f->self_id);
        return DP_DROP_NOT_FOR_US;
    }
    if (v->sender_id == 0 || v->sender_id == f->self_id) {
        nr_errf(err, NR_EUNKNOWN, "frame sender %016" PRIx64 " is %s", v->sender_id,
                v->sender_id == 0 ? "zero" : "ourselves");
        return DP_DROP_BAD_SENDER;
    }
    return DP_DROP_COUNT;
}

static int drop_code(enum dp_drop reason)
{
    switch (reason) {
    case DP_DROP_BAD_CHECKSUM: return NR_ECORRUPT;
    case DP_DROP_OTHER_CLUSTER: return NR_EREFUSED;
    case DP_DROP_NOT_FOR_US:
    case DP_DROP_BAD_SENDER: return NR_EUNKNOWN;
    default: return NR_EINVAL;
    }
}

static enum dp_drop decode_checks(const struct dp_rx_filter *filter, const uint8_t *buf,
                                  uint32_t len, struct dp_frame_view *v, struct nr_err *err)
{
    if (len >= DP_HDR_LEN)
        read_header(buf, v);
    enum dp_drop r = check_outer(buf, len, v, err);
    if (r != DP_DROP_COUNT)
        return r;
    uint32_t stored = nr_get_le32(buf + OFF_CRC);
    uint32_t crc = frame_crc(buf, v->payload_len);
    if (crc != stored) {
        nr_errf(err, NR_ECORRUPT,
                "frame of %" PRIu32 " bytes from member %016" PRIx64
                ": crc32c mismatch (stored %08" PRIx32 ", computed %08" PRIx32 ")",
                len, v->sender_id, stored, crc);
        return DP_DROP_BAD_CHECKSUM;
    }
    r = check_fields(buf, v, err);
    if (r == DP_DROP_COUNT)
        r = check_records(v, err);
    if (r == DP_DROP_COUNT)
        r = check_filter(filter, v, err);
    return r;
}

int dp_frame_decode(const struct dp_rx_filter *filter, const uint8_t *buf, uint32_t len,
                    struct dp_frame_view *v, struct dp_stats *stats, enum dp_drop *reason,
                    struct nr_err *err)
{
    enum dp_drop r = decode_checks(filter, buf, len, v, err);

    if (r == DP_DROP_COUNT) {
        if (stats != NULL)
            stats->rx_frames++;
        return 0;
    }
    if (stats != NULL)
        stats->drops[r]++;
    if (reason != NULL)
        *reason = r;
    int code = drop_code(r);
    NR_ASSERT(err == NULL || err->code == code);
    return code;
}

/* ---- Iterating the records of a decoded frame ---- */

void dp_msg_iter_init(struct dp_msg_iter *it, const struct dp_frame_view *v)
{
    it->p = v->payload;
    it->left_len = v->payload_len;
    it->left_msgs = v->n_msgs;
    it->group_id = v->group_id;
    it->sender_id = v->sender_id;
}

bool dp_msg_iter_next(struct dp_msg_iter *it, struct dp_msg *m)
{
    if (it->left_msgs == 0)
        return false;
    /* dp_frame_decode checked every record: these hold for a decoded view. */
    NR_ASSERT(it->left_len >= DP_MSG_HDR_LEN);
    uint32_t len = nr_get_le32(it->p + 4);
    NR_ASSERT(len <= it->left_len - DP_MSG_HDR_LEN);
    m->kind = nr_get_le16(it->p);
    m->len = len;
    m->data = it->p + DP_MSG_HDR_LEN;
    m->group_id = it->group_id;
    m->sender_id = it->sender_id;
    it->p += DP_MSG_HDR_LEN + len;
    it->left_len -= DP_MSG_HDR_LEN + len;
    it->left_msgs--;
    return true;
}
