/* node_boot.c - from flags to a node ready to poll: SPEC section 2 rule 8.
 *
 *  - a data directory with an identity: restart. The identity names the
 *    cluster and the member; the initial-cluster flags are ignored, with a
 *    warning when they say something else.
 *  - none, --initial-cluster-state=new: bootstrap. The IDs are hashes of
 *    --initial-cluster and the token (node_ids.h); the WAL starts with the
 *    founding configuration as entries 1..N (one voter added each) and the
 *    founding members' records as entries N+1..2N, all committed at term 1,
 *    so every founding member writes the same log.
 *  - none, existing: join. The peers named in --initial-cluster are asked
 *    for the membership (node_join.c); the node must be in it by its peer
 *    URLs, and boots with an empty log that the leader fills. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "members_wire.h"
#include "node_int.h"
#include "snap_file.h"

static int mkdir_one(const char *path, struct nr_err *err)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return nr_errf(err, NR_EIO, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

/* Whether this start's flags name another cluster or member than the data
 * directory does: then they are ignored, and said so. */
static void warn_ignored_flags(struct node *n, const struct data_dir_ident *id)
{
    const struct nr_member *me = nr_initial_cluster_find(&n->ic, n->f.name);

    if (!nr_flags_given(&n->f, "initial-cluster") &&
        !nr_flags_given(&n->f, "initial-cluster-token") &&
        !nr_flags_given(&n->f, "initial-cluster-state"))
        return;
    if (n->ic.n_members > 0 && n->ic.cluster_id == id->cluster_id && me != NULL &&
        me->id == id->member_id)
        return;
    node_log(n,
             "warning: the data directory %s belongs to cluster %016" PRIx64 " member %016" PRIx64
             "; --initial-cluster, --initial-cluster-token and --initial-cluster-state are "
             "ignored on a restart (they describe cluster %016" PRIx64 "%s)",
             n->f.data_dir, id->cluster_id, id->member_id, n->ic.cluster_id,
             me == NULL ? ", without this member's name" : "");
}

/* The founding member named --name, its advertised peer URL among its
 * initial-cluster URLs (etcd checks the same). */
static int founding_self(struct node *n, const struct nr_member **out, struct nr_err *err)
{
    const struct nr_member *me = nr_initial_cluster_find(&n->ic, n->f.name);

    if (me == NULL)
        return nr_errf(err, NR_EINVAL,
                       "--name=%s is not in --initial-cluster=%s; every founding member must "
                       "be listed under its own name",
                       n->f.name, n->f.initial_cluster);
    for (uint32_t i = 0; i < me->n_peer_urls; i++)
        if (strcmp(me->peer_urls[i], n->f.advertise_peer_url) == 0) {
            *out = me;
            return 0;
        }
    return nr_errf(err, NR_EINVAL,
                   "--initial-advertise-peer-urls=%s does not match --initial-cluster's entry "
                   "for %s (%s)",
                   n->f.advertise_peer_url, n->f.name, me->peer_urls[0]);
}

/* Writes the founding log and waits until it is durable. */
static int bootstrap_log(struct node *n, struct raft_entry *ents, uint8_t *buf, struct nr_err *err)
{
    uint32_t nm = n->ic.n_members, off = 0;

    for (uint32_t i = 0; i < nm; i++) {
        struct raft_conf_change cc = {.kind = RAFT_CC_SIMPLE, .n_items = 1};

        cc.items[0].op = RAFT_CC_ADD_VOTER;
        cc.items[0].id = n->ic.members[i].id;
        uint32_t len = raft_cc_encode(&cc, buf + off);
        ents[i] = (struct raft_entry){
                .term = 1, .index = i + 1, .type = RAFT_ENTRY_CONF, .len = len, .data = buf + off};
        off += len;
    }
    for (uint32_t i = 0; i < nm; i++) {
        int len = member_rec_encode(&n->ic.members[i], buf + off, MEMBER_REC_ENTRY_LEN_MAX, err);

        if (len < 0)
            return len;
        ents[nm + i] = (struct raft_entry){.term = 1,
                                           .index = nm + i + 1,
                                           .type = RAFT_ENTRY_NORMAL,
                                           .len = (uint32_t)len,
                                           .data = buf + off};
        off += (uint32_t)len;
    }
    struct raft_hard_state hs = {.term = 1, .vote = RAFT_ID_NONE, .commit = 2 * nm};
    int rc = wal_append(n->wal, ents, 2 * nm, &hs, NULL, err);
    if (rc == 0)
        rc = wal_submit(n->wal, err);
    while (rc == 0 && n->durable.index < 2 * nm) {
        rc = wal_reap(n->wal, &n->durable, err);
        rc = rc > 0 ? 0 : rc;
    }
    n->batches_submitted = n->durable.batches;
    return rc;
}

static int open_storage(struct node *n, struct nr_err *err)
{
    struct wal_writer_probe_result probe;
    int rc;

    if ((rc = mkdir_one(n->f.data_dir, err)) != 0 ||
        (rc = data_dir_open(n->f.data_dir, n->cluster_id, n->self_id, &n->dir, err)) != 0)
        return rc;
    snprintf(n->wal_dir, sizeof(n->wal_dir), "%s/wal", n->f.data_dir);
    snprintf(n->snap_dir, sizeof(n->snap_dir), "%s/snap", n->f.data_dir);
    if ((rc = mkdir_one(n->wal_dir, err)) != 0 || (rc = mkdir_one(n->snap_dir, err)) != 0)
        return rc;
    /* The file and sync modes are measured on this disk, as a database
     * would at start (issue 4): about 10 ms. */
    if ((rc = wal_writer_probe(n->wal_dir, &probe, err)) != 0)
        return rc;
    struct wal_writer_opts wo = {
            .queue_depth = 64, .sync_mode = probe.sync_mode, .direct = probe.direct};
    if ((rc = wal_writer_create(&wo, &n->writer, err)) != 0)
        return rc;
    node_log(n, "WAL: %s%s, a durable 4 KiB write measured at %.0f us",
             wal_sync_mode_name(probe.sync_mode), probe.direct ? ", O_DIRECT" : "",
             (double)probe.ns_per_write[probe.direct][probe.sync_mode - 1] / 1000.0);
    struct wal_opts o = {.dir = n->wal_dir,
                         .cluster_id = n->cluster_id,
                         .member_id = n->self_id,
                         .group_id = NR_GROUP_MAIN,
                         .direct = probe.direct,
                         .writer = n->writer};
    if ((rc = wal_open(&o, &n->wal, err)) != 0)
        return rc;
    struct nr_err werr;
    n->wal_wakes = dp_xport_add_wake_fd(n->xp, wal_writer_fd(n->writer), &werr) == 0;
    const struct wal_recovery *rec = wal_recovered(n->wal);
    n->durable = (struct wal_durable){rec->last_index, rec->last_term, 0};
    if (rec->is_torn)
        node_log(n, "%s", rec->note);
    return 0;
}

/* The store's size from the quota: the keys it can hold assume entries of
 * at least 256 bytes on average. */
static int open_store(struct node *n, struct nr_err *err)
{
    struct kv_config kc = {
            .max_bytes = n->f.quota_backend_bytes,
            .max_keys = (uint32_t)(n->f.quota_backend_bytes / 256),
            .max_sessions = 65536,
    };

    return kv_create(&kc, &n->kv, err);
}

static int create_raft(struct node *n, const struct raft_boot *boot, struct nr_err *err)
{
    struct raft_config cfg;
    uint64_t seed;

    seed = n->self_id ^ node_now_ns();
    raft_config_default(&cfg, n->self_id, seed);
    cfg.heartbeat_ticks = 1;
    cfg.election_ticks = n->f.election_ms / n->f.heartbeat_ms;
    cfg.msg_bytes_max = 1u << 20;
    /* The in-memory log holds everything since the last snapshot: room for
     * --snapshot-count entries and as many again while the next snapshot
     * is written. */
    uint64_t want = 2 * n->f.snapshot_count + 4096;
    cfg.log_entries_max = want > (1u << 24) ? (1u << 24) : (uint32_t)want;
    n->tick_ns = (uint64_t)n->f.heartbeat_ms * 1000000u;
    n->applied = boot->applied_index;
    n->applied_told = boot->applied_index;
    return raft_create(&cfg, boot, &n->raft, err);
}

static int open_transport(struct node *n, struct nr_err *err)
{
    struct nr_err uerr;
    char prefix[80];
    static char eal[sizeof(n->f.dpdk_args) + sizeof(n->f.lcores) + 16];
    bool floating = strchr(n->f.lcores, '@') != NULL;

    /* "0@(0-1)": the poller may run on any of those CPUs (EAL --lcores),
     * for hosts with fewer CPUs than members; a plain list pins (-l). */
    snprintf(eal, sizeof(eal), "%s%s%s", n->f.dpdk_args, floating ? " --lcores=" : "",
             floating ? n->f.lcores : "");
    snprintf(prefix, sizeof(prefix), "nicraft-%s", n->f.name);
    struct dp_xport_config xc = {
            .kind = n->f.transport == NR_TRANSPORT_DPDK ? DP_XPORT_DPDK : DP_XPORT_UDP,
            .n_local = 2,
            .cluster_id = n->cluster_id,
            .self_id = n->self_id,
            .mtu = DP_MTU_DEFAULT,
            /* A raft append carries up to 1 MiB of entries (create_raft). */
            .reasm = {.n_slots = 8, .msg_len_max = 2u << 20, .timeout_ns = 1000000000u},
            .eal_args = eal,
            .lcores = floating ? NULL : n->f.lcores,
            .idle = {.policy = n->f.idle == NR_IDLE_ADAPTIVE ? DP_IDLE_ADAPTIVE : DP_IDLE_BUSY},
            /* the EAL files of one member; --dpdk-args may name its own */
            .file_prefix = strstr(n->f.dpdk_args, "--file-prefix") != NULL ? NULL : prefix,
    };

    if (dp_url_parse(n->f.listen_peer_url, false, &xc.local[NODE_LOCAL_PEER], &uerr) != 0 ||
        dp_url_parse(n->f.listen_client_url, false, &xc.local[NODE_LOCAL_CLIENT], &uerr) != 0)
        return nr_errf(err, NR_EINVAL, "%s", uerr.msg);
    dp_url_parse(n->f.advertise_peer_url, false, &n->self_peer, &uerr);
    dp_url_parse(n->f.advertise_client_url, false, &n->self_client, &uerr);
    return dp_xport_create(&xc, &n->xp, err);
}

int node_boot(struct node *n, struct nr_err *err)
{
    struct data_dir_ident id;
    bool found = false;
    struct raft_boot boot = {0};
    int rc;

    if (n->f.initial_cluster_state == NR_CLUSTER_NEW || n->f.initial_cluster[0] != '\0') {
        rc = nr_initial_cluster_parse(n->f.initial_cluster, n->f.initial_cluster_token, &n->ic,
                                      err);
        if (rc != 0)
            return rc;
    }
    if ((rc = data_dir_peek(n->f.data_dir, &id, &found, err)) != 0)
        return rc;
    if (found) {
        n->cluster_id = id.cluster_id;
        n->self_id = id.member_id;
        warn_ignored_flags(n, &id);
    } else if (n->f.initial_cluster_state == NR_CLUSTER_NEW) {
        const struct nr_member *me = NULL;

        if ((rc = founding_self(n, &me, err)) != 0)
            return rc;
        n->cluster_id = n->ic.cluster_id;
        n->self_id = me->id;
        n->is_bootstrap = true;
    } else {
        n->cluster_id = n->f.initial_cluster_id_val;
        n->is_join = true;
    }
    /* A joining node learns its member ID from the cluster before it
     * creates anything on disk; until then its frames carry a provisional
     * one. */
    if (n->is_join)
        n->self_id = nr_member_id_derive((const char(*)[NR_URL_LEN_MAX])n->f.advertise_peer_url, 1,
                                         n->f.initial_cluster_token);
    if ((rc = open_transport(n, err)) != 0)
        return rc;
    if (n->is_join && (rc = node_join(n, err)) != 0)
        return rc;
    if ((rc = open_storage(n, err)) != 0 || (rc = open_store(n, err)) != 0)
        return rc;
    /* The WAL (just written, or replayed) is the boot state; the store
     * starts from the newest snapshot and the log after it is applied
     * again. */
    if ((rc = node_snap_load(n, err)) != 0)
        return rc;
    if (n->is_bootstrap) {
        struct raft_entry ents[2 * RAFT_VOTERS_MAX];
        uint8_t *buf = malloc(RAFT_VOTERS_MAX * (RAFT_CC_WIRE_MAX + MEMBER_REC_ENTRY_LEN_MAX));

        if (buf == NULL)
            return nr_errf(err, NR_ENOMEM, "bootstrap: no memory");
        rc = bootstrap_log(n, ents, buf, err);
        boot.hard_state = (struct raft_hard_state){.term = 1, .commit = 2 * n->ic.n_members};
        boot.entries = ents;
        boot.n_entries = 2 * n->ic.n_members;
        if (rc == 0)
            rc = create_raft(n, &boot, err); /* copies the entries */
        free(buf);
        if (rc != 0)
            return rc;
        node_log(n,
                 "bootstrapped cluster %016" PRIx64 " as member %016" PRIx64 " (%s) with %u "
                 "founding members",
                 n->cluster_id, n->self_id, n->f.name, n->ic.n_members);
    } else {
        wal_boot_from(wal_recovered(n->wal), &boot);
        boot.applied_index = n->applied;
        if ((rc = create_raft(n, &boot, err)) != 0)
            return rc;
    }
    return 0;
}
