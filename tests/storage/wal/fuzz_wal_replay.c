/* fuzz_wal_replay.c - libFuzzer target for segment replay (-Dfuzz=true,
 * clang). The first byte picks the shape: odd, the input is a whole segment
 * image; even, the rest is the body after a valid header block (so that
 * mutations reach batches, records, the tail scan and the log rules rather
 * than stopping at the header's checksum); a multiple of 3 builds batches
 * from the input read as a little program (records sealed with valid
 * checksums: the log rules, markers and cuts get exercised). Replay must
 * return 0 or an error
 * with a sentence; it must never crash, assert or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wal.h"
#include "wal_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct prog {
    uint8_t *img;
    uint64_t len, off, bstart, batch_no;
    uint32_t nrec;
};

static void batch_end(struct prog *p, uint64_t durable)
{
    uint8_t *q = p->img + p->bstart + WAL_REC_HDR;
    uint32_t blen = (uint32_t)wal_round_block(p->off - p->bstart);

    nr_put_le64(q + WAL_BATCH_OFF_SEQ, p->batch_no++);
    nr_put_le64(q + WAL_BATCH_OFF_DURABLE, durable > p->bstart ? p->bstart : durable);
    nr_put_le32(q + WAL_BATCH_OFF_LEN, blen);
    nr_put_le32(q + WAL_BATCH_OFF_NREC, p->nrec);
    wal_rec_seal(p->img + p->bstart, WAL_REC_BATCH, WAL_BATCH_PAYLOAD, 1);
    p->off = p->bstart + blen;
}

/* Ops of 3 bytes: kind, a, b. Indexes and terms stay small so that the
 * log rules (gaps, cuts, markers) are hit often. */
static void build(struct prog *p, const uint8_t *d, size_t n)
{
    p->off = WAL_BLOCK;
    p->bstart = 0;
    p->batch_no = 1;
    for (size_t i = 0; i + 3 <= n && p->off + 1024 < p->len; i += 3) {
        uint8_t kind = d[i] % 5, a = d[i + 1], b = d[i + 2];
        if (p->bstart == 0 || kind == 0) {
            if (p->bstart != 0)
                batch_end(p, (uint64_t)a * 64);
            p->bstart = p->off;
            p->off += wal_rec_size(WAL_BATCH_PAYLOAD);
            p->nrec = 0;
            if (kind == 0)
                continue;
        }
        uint8_t *q = p->img + p->off + WAL_REC_HDR;
        if (kind == 1) {
            nr_put_le64(q + WAL_ENTRY_OFF_TERM, b % 8);
            nr_put_le64(q + WAL_ENTRY_OFF_INDEX, a % 64);
            nr_put_le32(q + WAL_ENTRY_OFF_GROUP, 3);
            nr_put_le32(q + WAL_ENTRY_OFF_TYPE, 0);
            p->off += wal_rec_seal(p->img + p->off, WAL_REC_ENTRY, WAL_ENTRY_HDR + b % 5, 1);
        } else if (kind == 2) {
            nr_put_le64(q + WAL_HARD_OFF_TERM, b % 8);
            nr_put_le64(q + WAL_HARD_OFF_VOTE, 1);
            nr_put_le64(q + WAL_HARD_OFF_COMMIT, a % 64);
            p->off += wal_rec_seal(p->img + p->off, WAL_REC_HARD, WAL_HARD_PAYLOAD, 1);
        } else if (kind == 3) {
            memset(q, 0, WAL_SNAP_PAYLOAD);
            nr_put_le64(q + WAL_SNAP_OFF_INDEX, a % 64);
            nr_put_le64(q + WAL_SNAP_OFF_TERM, b % 8);
            nr_put_le32(q + WAL_SNAP_OFF_COUNTS, b % 11);
            p->off += wal_rec_seal(p->img + p->off, WAL_REC_SNAP, WAL_SNAP_PAYLOAD, 1);
        } else {
            p->img[p->bstart + (uint64_t)a * 4 % (p->off - p->bstart + 1)] ^= (uint8_t)(1u << (b % 8));
            continue;
        }
        p->nrec++;
    }
    if (p->bstart != 0)
        batch_end(p, p->bstart);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct wal_replay_opts ro = {"(fuzz)", 1, 2, 3};
    struct wal_recovery rec;
    struct nr_err err = {0};

    if (size < 1 || size > (1u << 20))
        return 0;
    bool is_prog = data[0] % 3 == 0;
    bool is_raw = !is_prog && (data[0] & 1);
    uint64_t body = size - 1;
    uint64_t len = is_prog ? 64u << 10 : is_raw ? body : WAL_BLOCK + wal_round_block(body);
    uint8_t *img = calloc(1, len + 1);
    if (img == NULL)
        return 0;
    if (is_raw) {
        memcpy(img, data + 1, body);
    } else {
        struct wal_seg_hdr h = {WAL_FORMAT_VERSION, 3, 1, 2, is_prog ? 1 : 1 + (data[0] >> 1) % 4,
                                1, len};
        wal_seg_hdr_encode(img, &h);
        if (is_prog) {
            struct prog p = {.img = img, .len = len};
            build(&p, data + 1, body);
        } else {
            memcpy(img + WAL_BLOCK, data + 1, body);
        }
    }
    int rc = wal_replay_buf(&ro, img, len, &rec, &err);
    if (rc == 0) {
        /* What replay hands out must hold together. */
        for (uint32_t i = 0; i < rec.n_entries; i++)
            if (rec.entries[i].index != rec.last_index - rec.n_entries + 1 + i)
                abort();
        if (rec.hard_state.commit > rec.last_index)
            abort();
        wal_recovery_free(&rec);
    } else if (err.msg[0] == '\0') {
        abort(); /* every refusal carries a sentence */
    }
    free(img);
    return 0;
}
