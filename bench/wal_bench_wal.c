/* wal_bench_wal.c - wal-bench's "WAL side" until storage/wal.h exists:
 * writer+framing. It drives the io_uring writer (storage/wal_writer.c) the
 * way the WAL will: each entry framed with a 32-byte header and CRC32C
 * (storage/crc.h) over header and payload, a batch padded to 512 bytes
 * (O_DIRECT-ready) and sent as one durable write (group commit) into a
 * segment that was zero-filled and fsynced ahead of time and is reused
 * from its start when full (as a recycled segment is). It is not the WAL:
 * no segment switching, hard state, truncation or replay rules; the output
 * says wal_side=writer+framing. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc.h"
#include "wal_bench.h"
#include "wal_writer.h"

#define WF_ALIGN 512u
#define WF_REC_ENTRY 1u
#define WF_SCAN_CHUNK (2u << 20) /* holds the largest record */
/* The largest batch: 64 headers and 1 MiB of payload, padded. */
#define WF_BATCH_CAP ((WB_ENTRY_BYTES_MAX + WB_ENTRIES_MAX * 64u + WF_ALIGN) & ~(WF_ALIGN - 1))

/* The framing of one record: the WAL's header shape, little-endian (x86). */
struct wf_hdr {
    uint32_t crc;  /* CRC32C of the header (crc = 0) and the payload */
    uint16_t type; /* WF_REC_ENTRY; 0 marks padding up to the next 512 */
    uint16_t flags;
    uint32_t len; /* payload bytes; the record takes 32 + len rounded to 8 */
    uint32_t group;
    uint64_t index;
    uint64_t term;
};
_Static_assert(sizeof(struct wf_hdr) == 32, "record header is 32 bytes");

struct wf_ctx {
    struct wal_writer *w;
    uint32_t slot;
    int fd;
    bool direct;
    char path[512];
    uint32_t pipeline;
    uint8_t *bufs[WB_PIPELINE_MAX]; /* one batch each, used in order */
    uint32_t buf_head;              /* oldest batch in flight */
    uint32_t n_in_flight;
    uint8_t *payload;   /* source bytes the entries copy from */
    uint64_t write_off; /* next batch's offset in the segment */
    uint64_t valid_end; /* records in [0, valid_end) are from the latest lap */
    uint64_t next_index;
    uint64_t crc_ns; /* inside nr_crc32c, entries of 4 KiB and more */
    uint64_t crc_bytes;
    uint8_t *scan_buf; /* WF_SCAN_CHUNK */
    char probe[160];   /* what the start-up probe measured, if it ran */
};

static uint32_t round_up(uint32_t v, uint32_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static void wf_close(void *vctx)
{
    struct wf_ctx *c = vctx;

    if (c == NULL)
        return;
    wal_writer_destroy(c->w); /* waits for writes still in flight */
    if (c->fd >= 0) {
        close(c->fd);
        unlink(c->path);
    }
    for (uint32_t i = 0; i < WB_PIPELINE_MAX; i++)
        free(c->bufs[i]);
    free(c->payload);
    free(c->scan_buf);
    free(c);
}

static int wf_open(const struct wb_wal_cfg *cfg, void **out, struct nr_err *err)
{
    struct wal_writer_opts o = {.queue_depth = WB_PIPELINE_MAX,
                                .sync_mode = cfg->sync_mode,
                                .direct = cfg->direct == 1,
                                .probe_dir = cfg->dir,
                                .plain_ring = cfg->plain_ring};
    struct wf_ctx *c = calloc(1, sizeof(*c));
    int ret;

    if (c == NULL)
        return nr_errf(err, NR_ENOMEM, "writer+framing: no memory");
    c->fd = -1;
    if (cfg->direct < 0) { /* measure, as the WAL will at start-up */
        ret = wb_probe(cfg->dir, &o, c->probe, sizeof(c->probe), err);
        if (ret != 0) {
            free(c);
            return ret;
        }
    }
    c->direct = o.direct;
    c->pipeline = cfg->pipeline;
    if (c->pipeline < 1 || c->pipeline > WB_PIPELINE_MAX) {
        free(c);
        return nr_errf(err, NR_EINVAL, "writer+framing: pipeline %u is outside 1..%u",
                       cfg->pipeline, WB_PIPELINE_MAX);
    }
    for (uint32_t i = 0; i < c->pipeline; i++)
        if (posix_memalign((void **)&c->bufs[i], 4096, WF_BATCH_CAP) != 0)
            c->bufs[i] = NULL;
    if (posix_memalign((void **)&c->payload, 4096, WB_ENTRY_BYTES_MAX + 4096) != 0)
        c->payload = NULL;
    if (posix_memalign((void **)&c->scan_buf, 4096, WF_SCAN_CHUNK) != 0)
        c->scan_buf = NULL;
    for (uint32_t i = 0; i < c->pipeline; i++)
        if (c->bufs[i] == NULL)
            c->payload = NULL, i = c->pipeline;
    if (c->payload == NULL || c->scan_buf == NULL) {
        wf_close(c);
        return nr_errf(err, NR_ENOMEM, "writer+framing: no memory for batch buffers");
    }
    for (uint32_t i = 0; i < WB_ENTRY_BYTES_MAX + 4096; i++)
        c->payload[i] = (uint8_t)(i * 2654435761u >> 24);
    snprintf(c->path, sizeof(c->path), "%s/wal-segment-%s", cfg->dir, cfg->name);
    c->fd = wb_zero_file(c->path, WB_SEGMENT_BYTES, c->direct ? O_DIRECT : 0);
    if (c->fd < 0) {
        ret = nr_errf(err, NR_EREFUSED, "writer+framing: cannot make the segment %s: %s", c->path,
                      strerror(errno));
        wf_close(c);
        return ret;
    }
    ret = wal_writer_create(&o, &c->w, err);
    if (ret == 0)
        ret = wal_writer_add_file(c->w, c->fd, &c->slot, err);
    if (ret == 0 && cfg->fixed_bufs) {
        struct iovec iov[WB_PIPELINE_MAX];

        for (uint32_t i = 0; i < c->pipeline; i++)
            iov[i] = (struct iovec){.iov_base = c->bufs[i], .iov_len = WF_BATCH_CAP};
        ret = wal_writer_register_buffers(c->w, iov, c->pipeline, err);
    }
    if (ret != 0) {
        wf_close(c);
        return ret;
    }
    c->next_index = 1;
    *out = c;
    return 0;
}

/* Frames p's entries into buf: the batch's length, a multiple of 512. */
static uint32_t wf_encode(struct wf_ctx *c, uint8_t *buf, const struct wb_pattern *p)
{
    /* Timing the CRC costs two clock reads per entry: only for big ones. */
    bool is_timed = p->entry_len >= 4096;
    uint32_t pos = 0;

    for (uint32_t i = 0; i < p->n_entries; i++) {
        struct wf_hdr h = {.type = WF_REC_ENTRY,
                           .len = p->entry_len,
                           .group = 1,
                           .index = c->next_index++,
                           .term = 1};
        uint64_t t0 = 0;
        uint32_t crc;

        /* The entry's bytes move into the batch (the WAL copies them too). */
        memcpy(buf + pos + sizeof(h), c->payload + (h.index & 4095), p->entry_len);
        if (is_timed)
            t0 = wb_now_ns();
        crc = nr_crc32c(0, &h, sizeof(h));
        h.crc = nr_crc32c(crc, buf + pos + sizeof(h), p->entry_len);
        if (is_timed) {
            c->crc_ns += wb_now_ns() - t0;
            c->crc_bytes += sizeof(h) + p->entry_len;
        }
        memcpy(buf + pos, &h, sizeof(h));
        pos += (uint32_t)sizeof(h) + round_up(p->entry_len, 8);
    }
    memset(buf + pos, 0, round_up(pos, WF_ALIGN) - pos);
    return round_up(pos, WF_ALIGN);
}

static int wf_submit(void *vctx, const struct wb_pattern *p, uint64_t tag, struct nr_err *err)
{
    struct wf_ctx *c = vctx;
    uint8_t *buf;
    uint32_t len;
    int ret;

    if (c->n_in_flight == c->pipeline)
        return nr_errf(err, NR_EBUSY, "writer+framing: %u batches in flight", c->pipeline);
    buf = c->bufs[(c->buf_head + c->n_in_flight) % c->pipeline];
    len = wf_encode(c, buf, p);
    if (c->write_off + len > WB_SEGMENT_BYTES) {
        c->valid_end = 0; /* a new lap: the old records are stale */
        c->write_off = 0;
    }
    ret = wal_writer_write(c->w, c->slot, c->write_off, buf, len, tag, err);
    if (ret == 0)
        ret = wal_writer_flush(c->w, err);
    if (ret != 0)
        return ret;
    c->write_off += len;
    c->valid_end = c->write_off;
    c->n_in_flight++;
    return 0;
}

static int wf_reap(void *vctx, uint64_t *tags, uint32_t max, bool wait, struct nr_err *err)
{
    struct wf_ctx *c = vctx;
    struct wal_done done[WB_PIPELINE_MAX];
    uint32_t n;

    if (max > WB_PIPELINE_MAX)
        max = WB_PIPELINE_MAX;
    n = wal_writer_reap(c->w, done, max);
    if (n == 0 && wait && c->n_in_flight > 0) {
        int ret = wal_writer_wait(c->w, err);

        if (ret != 0)
            return ret;
        n = wal_writer_reap(c->w, done, max);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (done[i].result != 0)
            return nr_errf(err, NR_EREFUSED, "writer+framing: batch %" PRIu64 " failed: %s",
                           done[i].cookie, strerror(-done[i].result));
        tags[i] = done[i].cookie;
        c->buf_head = (c->buf_head + 1) % c->pipeline;
        c->n_in_flight--;
    }
    return (int)n;
}

/* The check a replay makes, on this framing: every record's header and CRC
 * over [0, valid_end), padding skipped to the next 512. Not wal_replay.c. */
static int64_t wf_scan(void *vctx, struct nr_err *err)
{
    struct wf_ctx *c = vctx;
    int fd = open(c->path, O_RDONLY | O_CLOEXEC); /* buffered: the page cache */
    uint64_t off = 0, n_recs = 0;
    const uint64_t chunk = WF_SCAN_CHUNK;

    if (fd < 0)
        return nr_errf(err, NR_EREFUSED, "scan: open %s: %s", c->path, strerror(errno));
    /* A record cut by the chunk's end is read again from its own start. */
    while (off < c->valid_end) {
        ssize_t got = pread(fd, c->scan_buf, chunk, (off_t)off);
        uint32_t pos = 0;

        if (got <= 0)
            break;
        while (pos + sizeof(struct wf_hdr) <= (uint64_t)got && off + pos < c->valid_end) {
            struct wf_hdr h;
            uint32_t crc, stored;

            memcpy(&h, c->scan_buf + pos, sizeof(h));
            if (h.type == 0) { /* padding: the next batch starts at a 512 in the file */
                pos = (uint32_t)(((off + pos + WF_ALIGN) & ~(uint64_t)(WF_ALIGN - 1)) - off);
                continue;
            }
            if (h.type != WF_REC_ENTRY || h.len > WB_ENTRY_BYTES_MAX) {
                close(fd);
                return nr_errf(err, NR_ECORRUPT,
                               "scan: %s offset %" PRIu64 ": bad header "
                               "(type %u, len %u)",
                               c->path, off + pos, h.type, h.len);
            }
            if (pos + sizeof(h) + h.len > (uint64_t)got)
                break; /* read it from its own start */
            stored = h.crc;
            h.crc = 0;
            crc = nr_crc32c(nr_crc32c(0, &h, sizeof(h)), c->scan_buf + pos + sizeof(h), h.len);
            if (crc != stored) {
                close(fd);
                return nr_errf(err, NR_ECORRUPT,
                               "scan: %s offset %" PRIu64 ": crc mismatch "
                               "(stored %08x, computed %08x)",
                               c->path, off + pos, stored, crc);
            }
            pos += (uint32_t)sizeof(h) + round_up(h.len, 8);
            n_recs++;
        }
        if (pos == 0) { /* a record larger than the buffer: cannot happen here */
            close(fd);
            return nr_errf(err, NR_ECORRUPT,
                           "scan: %s offset %" PRIu64 ": record larger "
                           "than %" PRIu64 " bytes",
                           c->path, off, chunk);
        }
        off += pos;
    }
    close(fd);
    return n_recs == 0 ? 0 : (int64_t)(off < c->valid_end ? off : c->valid_end);
}

static void wf_info(void *vctx, struct wb_wal_info *out)
{
    struct wf_ctx *c = vctx;

    *out = (struct wb_wal_info){
            .side = "writer+framing",
            .sync = wal_sync_mode_name(wal_writer_mode(c->w)),
            .direct = c->direct,
            .ring_flags = wal_writer_ring_flags(c->w),
            .crc_ns = c->crc_ns,
            .crc_bytes = c->crc_bytes,
            .crc_how = "timed around each nr_crc32c",
            .probe = c->probe[0] != '\0' ? c->probe : "probe: not run (modes given)",
    };
}

const struct wb_wal_side wb_side_writer_framing = {
        .open = wf_open,
        .submit = wf_submit,
        .reap = wf_reap,
        .scan = wf_scan,
        .info = wf_info,
        .close = wf_close,
};
