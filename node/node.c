/* node.c - creating and destroying a node: every buffer the poller will
 * use is allocated here (CONVENTIONS section 1.5). */
#include <stdlib.h>
#include <string.h>

#include "node_int.h"
#include "peer_wire.h"

#define NODE_STAGE_BYTES (8u << 20) /* writes staged in one iteration */
#define NODE_RING_CAP 1024u

static int alloc_buffers(struct node *n, struct nr_err *err)
{
    n->enc_cap = 4u << 20; /* an append of msg_bytes_max (1 MiB) and its headers */
    n->enc = calloc(1, n->enc_cap);
    n->held = calloc(NODE_HELD_MAX, sizeof(*n->held));
    n->waiters = calloc(NODE_WAITERS_MAX, sizeof(*n->waiters));
    n->reads = calloc(NODE_READS_MAX, sizeof(*n->reads));
    n->staged.cap = NODE_STAGE_BYTES;
    n->staged.buf = calloc(1, n->staged.cap);
    if (n->enc == NULL || n->held == NULL || n->waiters == NULL || n->reads == NULL ||
        n->staged.buf == NULL ||
        nr_spsc_init(&n->cmds, NODE_RING_CAP, sizeof(struct node_cmd)) != 0 ||
        nr_spsc_init(&n->evts, NODE_RING_CAP, sizeof(struct node_evt)) != 0 ||
        nr_spsc_init(&n->chunks_out, 16, sizeof(struct node_chunk)) != 0 ||
        nr_spsc_init(&n->chunks_in, 16, sizeof(struct node_chunk)) != 0 ||
        (n->chunk_tmp = calloc(1, sizeof(struct node_chunk))) == NULL)
        return nr_errf(err, NR_ENOMEM, "no memory for the node's buffers");
    return 0;
}

int node_create(const struct nr_flags *flags, struct node **out, struct nr_err *err)
{
    struct node *n = calloc(1, sizeof(*n));
    int rc;

    if (n == NULL)
        return nr_errf(err, NR_ENOMEM, "no memory for the node");
    n->f = *flags;
    n->read_ctx_next = 1;
    if ((rc = alloc_buffers(n, err)) != 0 || (rc = node_boot(n, err)) != 0) {
        node_destroy(n);
        return rc;
    }
    node_publish(n, node_now_ns());
    *out = n;
    return 0;
}

void node_destroy(struct node *n)
{
    if (n == NULL)
        return;
    if (n->xp != NULL)
        dp_xport_destroy(n->xp);
    if (n->raft != NULL)
        raft_destroy(n->raft);
    if (n->wal != NULL)
        wal_close(n->wal);
    if (n->writer != NULL)
        wal_writer_destroy(n->writer);
    if (n->kv != NULL)
        kv_destroy(n->kv);
    data_dir_close(n->dir);
    nr_spsc_fini(&n->cmds);
    nr_spsc_fini(&n->evts);
    nr_spsc_fini(&n->chunks_out);
    nr_spsc_fini(&n->chunks_in);
    free(n->chunk_tmp);
    free(n->enc);
    free(n->held);
    free(n->waiters);
    free(n->reads);
    free(n->staged.buf);
    free(n);
}

void node_stop(struct node *n)
{
    n->stop = 1;
}
