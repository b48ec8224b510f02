/* nr_kinds.h - the message kinds a node and its clients put in dataplane
 * frames (dp_frame.h: a message is a kind and opaque bytes), and the one
 * raft group a node runs today. One list, so no two parts of the project
 * ever give one kind two meanings. */
#ifndef NICRAFT_NR_KINDS_H
#define NICRAFT_NR_KINDS_H

enum nr_kind {
    NR_KIND_RAFT = 1,         /* peer_wire.h: one raft message */
    NR_KIND_CLIENT_REQ = 2,   /* client_wire.h: a put, get or delete */
    NR_KIND_CLIENT_RESP = 3,  /* client_wire.h: its answer */
    NR_KIND_SNAP_CHUNK = 4,   /* snap_wire.h: a piece of a snapshot, leader to follower */
    NR_KIND_SNAP_ACK = 5,     /* snap_wire.h: the follower's answer to a chunk */
    NR_KIND_MEMBERS_REQ = 6,  /* members_wire.h: a joining node asks for the membership */
    NR_KIND_MEMBERS_RESP = 7, /* members_wire.h: the membership */
    NR_KIND_MEMBER_ATTR = 8,  /* members_wire.h: a follower's attributes, for the
                                 leader to propose (SPEC section 2 rule 9) */
};

/* The raft group every node runs (sharding by key into several groups
 * comes later; frames already carry the group). */
#define NR_GROUP_MAIN 1u

#endif
