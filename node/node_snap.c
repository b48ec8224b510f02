/* node_snap.c - snapshots: taking them (log compaction every
 * --snapshot-count applied entries), loading them at start, streaming them
 * to a follower that needs compacted entries, and installing one.
 *
 * A snapshot file's state-machine bytes (snap_file.h) are the member table
 * (node_members_encode) followed by the store's image (kv.h).
 *
 * Taking one, without stalling the poller: the poller freezes the store
 * (kv_snap_begin) and copies it a slice per iteration; the finished image
 * goes to the control thread (NODE_EVT_SNAP_IMAGE), which writes the file
 * and answers NODE_CMD_SNAP_DONE; the poller then compacts the WAL and the
 * raft log below it.
 *
 * Streaming (leader -> follower): the stream is the encoded
 * RAFT_MSG_SNAPSHOT (u32 length, then peer_wire bytes: index, term and
 * configuration) followed by the file's state-machine bytes, in
 * checksummed chunks (snap_wire.h). The leader's control thread reads the
 * file and hands chunks to the poller to send, a window ahead of the
 * follower's cumulative acknowledgement, resending after a silence. The
 * follower's poller hands chunks to its control thread, which writes them
 * into a snapshot file of its own; once it is durable the poller steps the
 * RAFT_MSG_SNAPSHOT, and when the core says install, loads the file. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "members_wire.h"
#include "node_int.h"
#include "nr_le.h"
#include "peer_wire.h"
#include "snap_file.h"
#include "snap_wire.h"

#define MEMBERS_MAGIC UINT32_C(0x424d524e) /* "NRMB" */
#define MEMBERS_VERSION 1u
#define SNAP_KEEP 2u
#define STREAM_TOTAL_MAX (UINT64_C(16) << 30)

/* ---- the member table in a snapshot --------------------------------- */

/* The layout and the contract are in node_int.h. */
int node_members_encode(const struct node_members *t, uint8_t *buf, uint32_t cap,
                        struct nr_err *err)
{
    uint32_t off = 12;

    if (cap < off)
        return nr_errf(err, NR_EBUSY, "member table: no room");
    nr_put_le32(buf, MEMBERS_MAGIC);
    nr_put_le32(buf + 4, MEMBERS_VERSION);
    nr_put_le32(buf + 8, t->n);
    for (uint32_t i = 0; i < t->n; i++) {
        if (cap - off < 5)
            return nr_errf(err, NR_EBUSY, "member table: no room");
        int len = member_rec_encode(&t->v[i].m, buf + off + 5, cap - off - 5, err);
        if (len < 0)
            return len;
        buf[off] = (uint8_t)((t->v[i].started ? 1u : 0u) | (t->v[i].in_conf ? 2u : 0u));
        nr_put_le32(buf + off + 1, (uint32_t)len);
        off += 5 + (uint32_t)len;
    }
    return (int)off;
}

int node_members_decode(const uint8_t *buf, uint64_t len, struct node_members *t,
                        struct nr_err *err)
{
    uint64_t off = 12;

    memset(t, 0, sizeof(*t));
    if (len < 12 || nr_get_le32(buf) != MEMBERS_MAGIC || nr_get_le32(buf + 4) != MEMBERS_VERSION)
        return nr_errf(err, NR_EINVAL, "snapshot member table: bad magic or version");
    uint32_t n = nr_get_le32(buf + 8);
    if (n > RAFT_MEMBERS_MAX)
        return nr_errf(err, NR_EINVAL, "snapshot member table: %u members, at most %u", n,
                       RAFT_MEMBERS_MAX);
    for (uint32_t i = 0; i < n; i++) {
        if (len - off < 5)
            return nr_errf(err, NR_EINVAL, "snapshot member table: member %u truncated", i);
        uint8_t flags = buf[off];
        uint32_t rl = nr_get_le32(buf + off + 1);
        if (rl > len - off - 5 || flags > 3)
            return nr_errf(err, NR_EINVAL, "snapshot member table: member %u: bad length or flags",
                           i);
        struct node_member *nm = &t->v[t->n++];
        int rc = member_rec_decode(buf + off + 5, rl, &nm->m, err);
        if (rc != 0)
            return rc;
        nm->started = (flags & 1u) != 0;
        nm->in_conf = (flags & 2u) != 0;
        struct nr_err uerr;
        dp_url_parse(nm->m.peer_urls[0], false, &nm->peer, &uerr);
        if (nm->m.n_client_urls > 0)
            dp_url_parse(nm->m.client_urls[0], false, &nm->client, &uerr);
        off += 5 + rl;
    }
    return (int)off;
}

/* ---- loading a snapshot file into the store ------------------------- */

/* Restores the member table and the store from the file at path (its
 * header was verified). The poller's or boot's: blocking reads. */
static int load_file(struct node *n, const char *path, struct snap_header *h, struct nr_err *err)
{
    struct snap_reader *r;
    uint8_t *buf = malloc(SNAP_IO_CHUNK);
    size_t got, have = 0;
    bool table_done = false;
    int rc;

    if (buf == NULL)
        return nr_errf(err, NR_ENOMEM, "loading %s: no memory", path);
    rc = snap_reader_open(path, n->cluster_id, 0, &r, h, err);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    if ((rc = kv_restore_begin(n->kv, err)) != 0)
        goto out;
    /* The table comes first and is small: gather it whole, then stream the
     * rest into the store. */
    for (;;) {
        rc = snap_reader_read(r, buf + have, SNAP_IO_CHUNK - have, &got, err);
        if (rc != 0)
            goto out;
        have += got;
        if (!table_done) {
            int used = node_members_decode(buf, have, &n->members, err);
            if (used < 0) {
                if (got == 0 || have == SNAP_IO_CHUNK) {
                    rc = nr_errf(err, NR_ECORRUPT, "%s: %s", path, err->msg);
                    goto out;
                }
                continue;
            }
            table_done = true;
            memmove(buf, buf + used, have - (size_t)used);
            have -= (size_t)used;
        }
        if (have > 0 && (rc = kv_restore_feed(n->kv, buf, have, err)) != 0)
            goto out;
        have = 0;
        if (got == 0)
            break;
    }
    rc = kv_restore_end(n->kv, err);
out:
    snap_reader_close(r);
    free(buf);
    if (rc != 0) {
        kv_reset(n->kv);
        n->members.n = 0;
        return nr_errf(err, rc, "snapshot %s: %s", path, err->msg);
    }
    for (uint32_t i = 0; i < n->members.n; i++)
        if (n->members.v[i].m.id == n->self_id && n->members.v[i].started)
            n->has_published = true;
    n->applied = h->meta.index;
    n->applied_told = h->meta.index;
    n->snap_count_at = h->meta.index;
    return 0;
}

int node_snap_load(struct node *n, struct nr_err *err)
{
    const struct wal_recovery *rec = wal_recovered(n->wal);
    char path[DATA_DIR_PATH_MAX + 64];
    struct snap_header h;
    struct nr_err warn = {0};
    int rc;

    rc = snap_find_latest(n->snap_dir, n->cluster_id, n->self_id, path, sizeof(path), &warn, err);
    if (warn.code != 0)
        node_log(n, "%s", warn.msg);
    if (rc == NR_ERANGE) {
        if (rec->snap.index == 0)
            return 0;
        return nr_errf(err, NR_ECORRUPT,
                       "the WAL in %s was compacted up to index %" PRIu64 " but no snapshot "
                       "in %s verifies; refusing to start without the entries it replaced: "
                       "restore the snapshot file, or wipe the data directory and re-add "
                       "this member",
                       n->wal_dir, rec->snap.index, n->snap_dir);
    }
    if (rc != 0)
        return rc;
    if ((rc = load_file(n, path, &h, err)) != 0)
        return rc;
    /* A snapshot received from the leader whose install the WAL never
     * recorded is beyond the log: use the one the WAL was compacted to. */
    if (h.meta.index > rec->last_index || h.meta.index < rec->snap.index) {
        if (rec->snap.index == 0) {
            kv_reset(n->kv);
            n->members.n = 0;
            n->applied = n->applied_told = n->snap_count_at = 0;
            return 0;
        }
        if ((rc = snap_file_path(path, sizeof(path), n->snap_dir, rec->snap.term, rec->snap.index,
                                 false, err)) != 0 ||
            (rc = load_file(n, path, &h, err)) != 0)
            return rc;
    }
    node_log(n, "loaded snapshot %s: index %" PRIu64 ", %u members", path, h.meta.index,
             n->members.n);
    return 0;
}

/* ---- taking a snapshot ---------------------------------------------- */

void node_snap_tick(struct node *n)
{
    struct raft_status st;
    struct nr_err err;

    if (n->snap_in_progress || n->snap_with_ctl ||
        n->applied - n->snap_count_at < n->f.snapshot_count)
        return;
    if (kv_snap_begin(n->kv, &err) != 0)
        return;
    raft_status(n->raft, &st);
    n->snap_index = n->applied;
    n->snap_term = raft_term_at(n->raft, n->applied);
    n->snap_conf = st.conf;
    n->snap_members = n->members;
    n->snap_in_progress = true;
}

uint32_t node_snap_poll(struct node *n)
{
    uint32_t work = node_stream_poll(n);

    if (!n->snap_in_progress)
        return work;
    if (kv_snap_step(n->kv, 256u << 10)) {
        struct node_evt e = {
                .kind = NODE_EVT_SNAP_IMAGE, .index = n->snap_index, .term = n->snap_term};

        n->snap_in_progress = false;
        n->snap_with_ctl = true;
        node_evt_post(n, &e);
    }
    return work + 1;
}

/* The control thread: writes the frozen image as a snapshot file. */
void node_snap_write(struct node *n, const struct node_evt *e)
{
    const struct kv_image *img = kv_snap_image(n->kv);
    struct kv_image_reader rd;
    struct snap_writer *w = NULL;
    struct node_cmd c = {.kind = NODE_CMD_SNAP_FAILED, .index = e->index, .term = e->term};
    struct nr_err err;
    uint8_t *buf = malloc(SNAP_IO_CHUNK);
    int len, rc = NR_ENOMEM;

    if (buf == NULL)
        goto out;
    len = node_members_encode(&n->snap_members, buf, SNAP_IO_CHUNK, &err);
    if ((rc = len) < 0)
        goto out;
    struct snap_header h = {.cluster_id = n->cluster_id,
                            .member_id = n->self_id,
                            .meta = {.index = e->index, .term = e->term, .conf = n->snap_conf},
                            .data_len = (uint64_t)len + kv_image_len(img)};
    if ((rc = snap_writer_open(n->snap_dir, &h, NULL, &w, &err)) != 0 ||
        (rc = snap_writer_append(w, buf, (size_t)len, &err)) != 0)
        goto out;
    kv_image_reader_init(&rd, img);
    for (size_t got; (got = kv_image_read(&rd, buf, SNAP_IO_CHUNK)) > 0;)
        if ((rc = snap_writer_append(w, buf, got, &err)) != 0)
            goto out;
    rc = snap_writer_commit(w, NULL, 0, &err);
    w = NULL;
    if (rc == 0 && (rc = snap_gc(n->snap_dir, SNAP_KEEP, &err)) != 0)
        node_log(n, "removing old snapshots: %s", err.msg);
    c.kind = NODE_CMD_SNAP_DONE;
    rc = 0;
out:
    if (w != NULL)
        snap_writer_abort(w);
    if (rc != 0)
        node_log(n, "snapshot at index %" PRIu64 " not written: %s", e->index, err.msg);
    free(buf);
    node_ctl_push(n, &n->cmds, &c);
}

/* The poller: the file is durable (or not); compact below it. */
void node_snap_done(struct node *n, const struct node_cmd *c)
{
    struct nr_err err;

    kv_snap_release(n->kv);
    n->snap_with_ctl = false;
    if (c->kind != NODE_CMD_SNAP_DONE)
        return;
    n->snap_count_at = c->index;
    struct raft_snap_meta meta = {.index = c->index, .term = c->term, .conf = n->snap_conf};
    if (wal_compact(n->wal, &meta, &err) != 0) {
        node_log(n, "compacting the WAL to %" PRIu64 ": %s (next snapshot will)", c->index,
                 err.msg);
        return;
    }
    n->wal_dirty = true;
    struct raft_input in = {.kind = RAFT_IN_COMPACT, .index = c->index};
    node_step(n, &in);
}

/* ---- streaming ------------------------------------------------------- */

/* The leader's poller: the core wants a follower to get our snapshot. */
void node_snap_send(struct node *n, const struct raft_msg *m)
{
    struct node_evt e = {.kind = NODE_EVT_SNAP_SEND,
                         .index = m->snap.index,
                         .term = m->snap.term,
                         .to = m->to,
                         .msg = *m};

    if (n->stream_to != 0) {
        /* One stream at a time: tell the core this one failed (after this
         * step), so it asks again later instead of waiting for good. */
        for (uint32_t i = 0; i < n->n_snap_refused; i++)
            if (n->snap_refused[i] == m->to)
                return;
        if (n->n_snap_refused < RAFT_MEMBERS_MAX)
            n->snap_refused[n->n_snap_refused++] = m->to;
        return;
    }
    n->stream_to = m->to;
    node_evt_post(n, &e);
}

/* Chunks between the poller and the control thread. */
uint32_t node_stream_poll(struct node *n)
{
    struct node_chunk *ch = n->chunk_tmp;
    uint32_t work = n->n_snap_refused;
    struct nr_err err;

    while (n->n_snap_refused > 0) {
        struct raft_input in = {.kind = RAFT_IN_SNAP_STATUS,
                                .target = n->snap_refused[--n->n_snap_refused],
                                .snap_failed = true};
        node_step(n, &in);
    }
    while (nr_spsc_pop(&n->chunks_out, ch)) {
        struct node_member *to = node_member_find(n, ch->peer);

        work++;
        if (ch->is_end) {
            struct raft_input in = {
                    .kind = RAFT_IN_SNAP_STATUS, .target = ch->peer, .snap_failed = !ch->ok};

            n->stream_to = 0;
            node_step(n, &in);
            continue;
        }
        if (to == NULL)
            continue;
        ch->c.data = ch->data;
        int len = ch->kind == NR_KIND_SNAP_CHUNK
                          ? snap_chunk_encode(&ch->c, STREAM_TOTAL_MAX, n->enc, n->enc_cap, &err)
                          : snap_ack_encode(&ch->a, n->enc, n->enc_cap, &err);
        if (len < 0) {
            node_log(n, "snapshot stream: %s", err.msg);
            continue;
        }
        dp_xport_send(n->xp, NODE_LOCAL_PEER, &to->peer, ch->peer, NR_GROUP_MAIN, ch->kind, n->enc,
                      (uint32_t)len, &err);
    }
    return work;
}

/* The poller: a chunk or an acknowledgement from a peer goes to the
 * control thread (which owns the files). */
void node_snap_msg(struct node *n, const struct dp_msg *m)
{
    struct node_chunk *ch = n->chunk_tmp;
    struct nr_err err;

    memset(ch, 0, offsetof(struct node_chunk, data));
    ch->peer = m->sender_id;
    ch->kind = m->kind;
    if (m->kind == NR_KIND_SNAP_ACK) {
        if (snap_ack_decode(m->data, m->len, &ch->a, &err) != 0) {
            n->peer_bad++;
            return;
        }
    } else {
        if (snap_chunk_decode(m->data, m->len, STREAM_TOTAL_MAX, &ch->c, &err) != 0 ||
            ch->c.chunk_len > NODE_CHUNK_BYTES) {
            n->peer_bad++;
            return;
        }
        memcpy(ch->data, ch->c.data, ch->c.chunk_len);
        ch->c.data = NULL;
    }
    if (!nr_spsc_push(&n->chunks_in, ch))
        n->peer_bad++; /* like a lost frame: the sender resends */
}

/* The follower's poller: the snapshot file from the leader is durable;
 * step the leader's message, whose install loads it. */
void node_snap_received(struct node *n, const struct node_cmd *c)
{
    struct raft_input in = {.kind = RAFT_IN_RECV, .msg = &c->msg};

    node_step(n, &in);
}

/* The core installs a snapshot: it is the file the control thread wrote
 * for the stream (node_snap_received). */
void node_snap_installed(struct node *n, const struct raft_snap_meta *meta)
{
    char path[DATA_DIR_PATH_MAX + 64];
    struct snap_header h;
    struct nr_err err;
    int rc;

    rc = snap_file_path(path, sizeof(path), n->snap_dir, meta->term, meta->index, false, &err);
    if (rc == 0)
        rc = load_file(n, path, &h, &err);
    if (rc != 0) {
        nr_errf(&err, rc, "installing snapshot at index %" PRIu64 ": %s", meta->index, err.msg);
        node_fatal(n, &err);
        return;
    }
    node_log(n, "installed snapshot at index %" PRIu64 " term %" PRIu64 " from the leader",
             meta->index, meta->term);
}
