/* node_stream.c - the control thread's half of snapshot streaming (the
 * design is at the top of node_snap.c): reading the leader's file into
 * chunks a window ahead of the follower's acknowledgement, and writing a
 * follower's file from the chunks it receives. Both directions go through
 * the poller's transport by the chunk rings. One stream each way at a
 * time. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "node_int.h"
#include "nr_le.h"
#include "peer_wire.h"
#include "snap_file.h"

#define STREAM_WINDOW_BYTES (8u * NODE_CHUNK_BYTES)
#define STREAM_RESEND_NS (500ull * 1000000u)
#define STREAM_GIVE_UP_NS (20ull * 1000000000u)
#define STREAM_PREFIX_MAX 4096u

struct stream_out {
    bool active;
    uint64_t to, stream_id;
    struct raft_msg msg;
    uint64_t total, acked, sent, reader_off;
    uint64_t last_progress_ns; /* the follower acknowledged more */
    uint64_t last_resend_ns;
    uint8_t prefix[STREAM_PREFIX_MAX];
    uint32_t prefix_len;
    struct snap_reader *r;
    char path[DATA_DIR_PATH_MAX + 64];
};

struct stream_in {
    bool active;
    uint64_t from, stream_id, index, term, total, next;
    uint64_t last_ns;
    uint8_t prefix[STREAM_PREFIX_MAX];
    uint32_t prefix_have, prefix_len;
    struct raft_msg msg;
    struct snap_writer *w;
};

static struct stream_out sout; /* the control thread's own */
static struct stream_in sin_;
static struct node_chunk chunk; /* 40 KiB: not on the thread's stack */

static void out_end(struct node *n, bool ok, const char *why)
{
    memset(&chunk, 0, offsetof(struct node_chunk, data));
    chunk.peer = sout.to;
    chunk.is_end = true;
    chunk.ok = ok;
    node_ctl_push(n, &n->chunks_out, &chunk);
    if (sout.r != NULL)
        snap_reader_close(sout.r);
    node_log(n, "snapshot at index %" PRIu64 " to %016" PRIx64 ": %s", sout.msg.snap.index, sout.to,
             why);
    memset(&sout, 0, offsetof(struct stream_out, prefix));
    sout.r = NULL;
}

/* Opens the file and skips to file-data offset off. */
static int out_reopen(uint64_t off, struct nr_err *err)
{
    uint8_t skip[4096];
    size_t got;
    int rc;

    if (sout.r != NULL)
        snap_reader_close(sout.r);
    sout.r = NULL;
    if ((rc = snap_reader_open(sout.path, 0, 0, &sout.r, NULL, err)) != 0)
        return rc;
    for (sout.reader_off = 0; sout.reader_off < off; sout.reader_off += got) {
        uint64_t want = off - sout.reader_off < sizeof(skip) ? off - sout.reader_off : sizeof(skip);
        if ((rc = snap_reader_read(sout.r, skip, (size_t)want, &got, err)) != 0)
            return rc;
        if (got == 0)
            return nr_errf(err, NR_ECORRUPT, "%s is shorter than its header says", sout.path);
    }
    return 0;
}

void node_stream_start(struct node *n, const struct node_evt *e)
{
    struct snap_header h;
    struct nr_err err;
    int len, rc;

    if (sout.active)
        out_end(n, false, "replaced by a newer request");
    memset(&sout, 0, offsetof(struct stream_out, prefix));
    sout.active = true;
    sout.to = e->to;
    sout.msg = e->msg;
    sout.last_progress_ns = node_now_ns();
    if (getrandom(&sout.stream_id, sizeof(sout.stream_id), 0) != sizeof(sout.stream_id))
        sout.stream_id = sout.last_progress_ns;
    sout.stream_id |= 1;
    len = peer_msg_encode(&e->msg, sout.prefix + 4, STREAM_PREFIX_MAX - 4, &err);
    rc = len < 0 ? len
                 : snap_file_path(sout.path, sizeof(sout.path), n->snap_dir, e->term, e->index,
                                  false, &err);
    if (rc == 0)
        rc = snap_reader_open(sout.path, n->cluster_id, n->self_id, &sout.r, &h, &err);
    if (rc != 0) {
        out_end(n, false, err.msg);
        return;
    }
    nr_put_le32(sout.prefix, (uint32_t)len);
    sout.prefix_len = 4 + (uint32_t)len;
    sout.total = sout.prefix_len + h.data_len;
    node_log(n, "streaming snapshot at index %" PRIu64 " (%" PRIu64 " bytes) to %016" PRIx64,
             e->index, sout.total, e->to);
}

static void out_send(struct node *n)
{
    struct nr_err err;

    while (sout.active && sout.sent < sout.total && sout.sent < sout.acked + STREAM_WINDOW_BYTES) {
        uint64_t left = sout.total - sout.sent;
        uint32_t len = left < NODE_CHUNK_BYTES ? (uint32_t)left : NODE_CHUNK_BYTES, have = 0;

        memset(&chunk, 0, offsetof(struct node_chunk, data));
        while (have < len && sout.sent + have < sout.prefix_len) {
            chunk.data[have] = sout.prefix[sout.sent + have];
            have++;
        }
        if (have < len && sout.reader_off != sout.sent + have - sout.prefix_len &&
            out_reopen(sout.sent + have - sout.prefix_len, &err) != 0) {
            out_end(n, false, err.msg);
            return;
        }
        while (have < len) {
            size_t got;

            if (snap_reader_read(sout.r, chunk.data + have, len - have, &got, &err) != 0 ||
                got == 0) {
                out_end(n, false, got == 0 ? "the file ended early" : err.msg);
                return;
            }
            have += (uint32_t)got;
            sout.reader_off += got;
        }
        chunk.peer = sout.to;
        chunk.kind = NR_KIND_SNAP_CHUNK;
        chunk.c = (struct snap_chunk){.stream_id = sout.stream_id,
                                      .leader_term = sout.msg.term,
                                      .leader_id = n->self_id,
                                      .snap_index = sout.msg.snap.index,
                                      .snap_term = sout.msg.snap.term,
                                      .total_len = sout.total,
                                      .offset = sout.sent,
                                      .chunk_len = len};
        node_ctl_push(n, &n->chunks_out, &chunk);
        sout.sent += len;
    }
}

static void out_ack(struct node *n, const struct node_chunk *ch)
{
    const struct snap_ack *a = &ch->a;

    if (!sout.active || ch->peer != sout.to || a->stream_id != sout.stream_id)
        return;
    if (a->status == SNAP_ACK_DONE) {
        out_end(n, true, "installed by the follower");
        return;
    }
    if (a->status == SNAP_ACK_ABORT) {
        out_end(n, false, "the follower aborted the transfer");
        return;
    }
    if (a->next_offset > sout.acked && a->next_offset <= sout.total) {
        sout.acked = a->next_offset;
        sout.last_progress_ns = node_now_ns();
    } else if (a->next_offset < sout.sent) {
        sout.sent = a->next_offset; /* the follower missed a chunk: resend from there */
        sout.acked = a->next_offset;
    }
}

static void in_ack(struct node *n, uint32_t status, uint32_t reason)
{
    memset(&chunk, 0, offsetof(struct node_chunk, data));
    chunk.peer = sin_.from;
    chunk.kind = NR_KIND_SNAP_ACK;
    chunk.a = (struct snap_ack){.stream_id = sin_.stream_id,
                                .term = sin_.msg.term,
                                .snap_index = sin_.index,
                                .snap_term = sin_.term,
                                .next_offset = sin_.next,
                                .status = status,
                                .reason = reason};
    node_ctl_push(n, &n->chunks_out, &chunk);
}

static void in_abort(struct node *n, uint32_t reason, const char *why)
{
    node_log(n, "snapshot from %016" PRIx64 " at index %" PRIu64 " dropped: %s", sin_.from,
             sin_.index, why);
    in_ack(n, SNAP_ACK_ABORT, reason);
    if (sin_.w != NULL)
        snap_writer_abort(sin_.w);
    memset(&sin_, 0, sizeof(sin_));
}

/* The prefix is whole: decode the leader's message, start the file. */
static int in_open(struct node *n, struct nr_err *err)
{
    int rc = peer_msg_decode(sin_.prefix + 4, sin_.prefix_len - 4, &sin_.msg, NULL, 0, err);

    if (rc != 0)
        return rc;
    if (sin_.msg.type != RAFT_MSG_SNAPSHOT || sin_.msg.snap.index != sin_.index ||
        sin_.msg.snap.term != sin_.term || sin_.msg.from != sin_.from)
        return nr_errf(err, NR_EINVAL, "the stream's message does not match its chunks");
    struct snap_header h = {.cluster_id = n->cluster_id,
                            .member_id = n->self_id,
                            .meta = sin_.msg.snap,
                            .data_len = sin_.total - sin_.prefix_len};
    return snap_writer_open(n->snap_dir, &h, NULL, &sin_.w, err);
}

static void in_chunk(struct node *n, struct node_chunk *ch)
{
    const struct snap_chunk *c = &ch->c;
    struct nr_err err;
    uint32_t used = 0;

    if (!sin_.active || c->stream_id != sin_.stream_id || ch->peer != sin_.from) {
        if (c->offset != 0)
            return; /* a stale stream's chunk */
        if (sin_.active)
            in_abort(n, SNAP_ABORT_STALE, "a newer stream began");
        memset(&sin_, 0, sizeof(sin_));
        sin_ = (struct stream_in){.active = true,
                                  .from = ch->peer,
                                  .stream_id = c->stream_id,
                                  .index = c->snap_index,
                                  .term = c->snap_term,
                                  .total = c->total_len};
    }
    sin_.last_ns = node_now_ns();
    if (c->offset != sin_.next) {
        in_ack(n, SNAP_ACK_OK, SNAP_ABORT_NONE); /* asks for next again */
        return;
    }
    while (sin_.prefix_len == 0 || sin_.prefix_have < sin_.prefix_len) {
        if (used == c->chunk_len)
            break;
        sin_.prefix[sin_.prefix_have++] = ch->data[used++];
        if (sin_.prefix_len == 0 && sin_.prefix_have == 4) {
            sin_.prefix_len = 4 + nr_get_le32(sin_.prefix);
            if (sin_.prefix_len > STREAM_PREFIX_MAX || sin_.prefix_len > sin_.total) {
                in_abort(n, SNAP_ABORT_TOO_LARGE, "its header is too long");
                return;
            }
        }
        if (sin_.prefix_len != 0 && sin_.prefix_have == sin_.prefix_len && in_open(n, &err) != 0) {
            in_abort(n, SNAP_ABORT_DISK_ERROR, err.msg);
            return;
        }
    }
    if (used < c->chunk_len &&
        snap_writer_append(sin_.w, ch->data + used, c->chunk_len - used, &err) != 0) {
        sin_.w = NULL; /* a failed writer is final and gone */
        in_abort(n, SNAP_ABORT_DISK_ERROR, err.msg);
        return;
    }
    sin_.next += c->chunk_len;
    if (sin_.next < sin_.total) {
        in_ack(n, SNAP_ACK_OK, SNAP_ABORT_NONE);
        return;
    }
    int rc = snap_writer_commit(sin_.w, NULL, 0, &err);
    sin_.w = NULL;
    if (rc != 0) {
        in_abort(n, SNAP_ABORT_DISK_ERROR, err.msg);
        return;
    }
    struct node_cmd cmd = {.kind = NODE_CMD_SNAP_RECEIVED,
                           .index = sin_.index,
                           .term = sin_.term,
                           .msg = sin_.msg};
    node_ctl_push(n, &n->cmds, &cmd);
    in_ack(n, SNAP_ACK_DONE, SNAP_ABORT_NONE);
    node_log(n, "received snapshot at index %" PRIu64 " (%" PRIu64 " bytes) from %016" PRIx64,
             sin_.index, sin_.total, sin_.from);
    memset(&sin_, 0, sizeof(sin_));
}

void node_stream_duties(struct node *n)
{
    static struct node_chunk in; /* the control thread's */
    uint64_t now = node_now_ns();

    while (nr_spsc_pop(&n->chunks_in, &in)) {
        if (in.kind == NR_KIND_SNAP_ACK)
            out_ack(n, &in);
        else
            in_chunk(n, &in);
    }
    if (sout.active && now - sout.last_progress_ns > STREAM_GIVE_UP_NS)
        out_end(n, false, "no progress for 20 s");
    else if (sout.active && now - sout.last_progress_ns > STREAM_RESEND_NS &&
             now - sout.last_resend_ns > STREAM_RESEND_NS && sout.sent > sout.acked) {
        sout.sent = sout.acked; /* silence: resend the window */
        sout.last_resend_ns = now;
    }
    out_send(n);
    if (sin_.active && now - sin_.last_ns > STREAM_GIVE_UP_NS)
        in_abort(n, SNAP_ABORT_STALE, "no chunk for 20 s");
}
