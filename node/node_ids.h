/* node_ids.h - the founding cluster as the operator writes it, and the IDs
 * derived from it (SPEC section 2 rule 8).
 *
 * --initial-cluster is "name=udp://IP:PORT,name=udp://IP:PORT,...": a name
 * repeated gives that member another peer URL (as etcd). Every founding
 * member must be started with the same --initial-cluster and
 * --initial-cluster-token, because the IDs are a hash of them:
 *
 *   member ID  = H("nicraft-member", its peer URLs sorted, token)
 *   cluster ID = H("nicraft-cluster", the member IDs sorted, token)
 *
 * H is FNV-1a over the bytes with a 64-bit finalizer: deterministic on every
 * machine, not cryptographic (IDs name members; they guard nothing). A zero
 * result becomes 1 (0 means "none" everywhere). Pure: no I/O. */
#ifndef NICRAFT_NODE_IDS_H
#define NICRAFT_NODE_IDS_H

#include <stdbool.h>
#include <stdint.h>

#include "nr_err.h"
#include "nr_member.h"
#include "raft.h"

#define NR_INITIAL_CLUSTER_LEN_MAX 4096u /* bytes of the flag's value */

struct nr_initial_cluster {
    struct nr_member members[RAFT_VOTERS_MAX]; /* in the order first named */
    uint32_t n_members;
    uint64_t cluster_id;
};

/* Parses and derives every ID. NR_EINVAL with the sentence quoting the
 * faulty part: an empty list, a member without '=', a bad name, a bad URL
 * (dp_url_parse's sentence), more than RAFT_VOTERS_MAX members or
 * NR_MEMBER_URLS_MAX URLs for one name, an empty token, a peer URL named
 * by two members (their IDs would say nothing about which is which). */
int nr_initial_cluster_parse(const char *spec, const char *token, struct nr_initial_cluster *out,
                             struct nr_err *err);

/* The member of c whose name is name, or NULL. */
const struct nr_member *nr_initial_cluster_find(const struct nr_initial_cluster *c,
                                                const char *name);

/* The IDs alone, for tests and the restore path. urls need not be sorted. */
uint64_t nr_member_id_derive(const char (*urls)[NR_URL_LEN_MAX], uint32_t n_urls,
                             const char *token);
uint64_t nr_cluster_id_derive(const uint64_t *member_ids, uint32_t n, const char *token);

/* True when both members list the same peer URLs, in any order. */
bool nr_member_same_peer_urls(const struct nr_member *a, const struct nr_member *b);

#endif
