/* nr_member.h - a cluster member as the node knows it beyond the raft core
 * (which knows only IDs): its name and URLs; and how the applier tells the
 * kinds of RAFT_ENTRY_NORMAL data apart by their first byte.
 *
 * Normal entries carry client commands (client_wire.h; first byte the
 * client wire version, 1), member attributes published by a started node
 * (SPEC section 2 rule 9; first byte NR_ENTRY_MEMBER_ATTR) and member
 * records proposed just before a configuration change (first byte
 * NR_ENTRY_MEMBER_REC). Their codecs are in members_wire.h. */
#ifndef NICRAFT_NR_MEMBER_H
#define NICRAFT_NR_MEMBER_H

#include <stdbool.h>
#include <stdint.h>

#include "client_wire.h"

#define NR_NAME_MAX 64 /* bytes including NUL */
#define NR_MEMBER_URLS_MAX 4
/* Equal to DP_URL_LEN_MAX (dp_udp.h; members_wire.c static_asserts it):
 * a URL of up to NR_URL_LEN_MAX - 1 characters and its NUL. */
#define NR_URL_LEN_MAX 64

/* A member. name is empty until the member has started and published it
 * (an "unstarted" member, added by its peer URLs only). Every string is
 * NUL-terminated within its array. */
struct nr_member {
    uint64_t id; /* non-zero */
    char name[NR_NAME_MAX];
    uint32_t n_peer_urls;   /* 1 .. NR_MEMBER_URLS_MAX */
    uint32_t n_client_urls; /* 0 .. NR_MEMBER_URLS_MAX */
    char peer_urls[NR_MEMBER_URLS_MAX][NR_URL_LEN_MAX];
    char client_urls[NR_MEMBER_URLS_MAX][NR_URL_LEN_MAX];
    bool is_learner;
};

/* What a started member publishes through the log (SPEC section 2 rule 9). */
struct nr_member_attr {
    uint64_t id;            /* non-zero: the publishing member */
    char name[NR_NAME_MAX]; /* non-empty */
    uint32_t n_client_urls; /* 0 .. NR_MEMBER_URLS_MAX */
    char client_urls[NR_MEMBER_URLS_MAX][NR_URL_LEN_MAX];
};

/* First bytes of RAFT_ENTRY_NORMAL data. */
#define NR_ENTRY_CLIENT_CMD NR_CLIENT_WIRE_VERSION /* client_wire.h */
#define NR_ENTRY_MEMBER_ATTR 0xA1u
#define NR_ENTRY_MEMBER_REC 0xA2u

enum nr_entry_class {
    NR_ENTRY_CLASS_UNKNOWN = 0, /* a first byte nobody wrote: refuse, count */
    NR_ENTRY_CLASS_EMPTY,       /* no data: nothing to apply */
    NR_ENTRY_CLASS_CLIENT_CMD,  /* nr_kv_cmd_decode */
    NR_ENTRY_CLASS_MEMBER_ATTR, /* member_attr_decode */
    NR_ENTRY_CLASS_MEMBER_REC,  /* member_rec_decode */
};

/* The class of a RAFT_ENTRY_NORMAL entry's data, from its first byte only:
 * the decoder of that class still checks the rest. */
static inline enum nr_entry_class nr_entry_class(const uint8_t *data, uint32_t len)
{
    if (len == 0)
        return NR_ENTRY_CLASS_EMPTY;
    switch (data[0]) {
    case NR_ENTRY_CLIENT_CMD: return NR_ENTRY_CLASS_CLIENT_CMD;
    case NR_ENTRY_MEMBER_ATTR: return NR_ENTRY_CLASS_MEMBER_ATTR;
    case NR_ENTRY_MEMBER_REC: return NR_ENTRY_CLASS_MEMBER_REC;
    default: return NR_ENTRY_CLASS_UNKNOWN;
    }
}

#endif
