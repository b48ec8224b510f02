/* kv.h - the key-value state machine a raft group applies (client_wire.h
 * commands), with client sessions and snapshots that never stall the poller.
 *
 * Threads. A store belongs to one poller thread: every function here is
 * that thread's, except the kv_image_* readers, which are the control
 * thread's (see "Snapshots"). After kv_create nothing allocates, blocks or
 * makes a system call.
 *
 * Semantics (every member applies the same log and must reach the same
 * state, so every rule below depends on the log alone):
 *   - revision: 1 for an empty store (as etcd); each write that changes the
 *     store (a PUT, a DEL of a present key) adds one. A DEL of an absent key
 *     answers NR_KV_NOT_FOUND with the current revision and changes nothing
 *     but its session (etcd's DeleteRange of nothing keeps the revision too).
 *   - NR_KV_NOSPACE: a PUT of a new key when max_keys are held, or one that
 *     would take the key + value bytes above max_bytes. Decided on those two
 *     logical sums only (never on memory layout, which differs on a member
 *     that installed a snapshot); nothing changes but the session.
 *   - Sessions: (client_id, seq). A write whose seq equals the client's last
 *     applied seq is not applied again and gets the remembered status and
 *     revision (is_duplicate); a lower seq is refused (NR_ESTALE, status
 *     NR_KV_ERROR). max_sessions are remembered; a new client beyond them
 *     evicts the session with the oldest last-applied index (a client whose
 *     session was evicted loses at-most-once for its old seqs: keep
 *     max_sessions above the number of live clients).
 *   - A malformed command (GET, unknown op, lengths, zero IDs) is refused
 *     (NR_EINVAL, NR_KV_ERROR) and changes nothing but the applied index:
 *     log entries come from outside, so nothing here asserts on them.
 *
 * Memory. Everything the store holds lives in one arena of KV_PAGE_LEN
 * pages made and touched at creation: the hash table (open addressing,
 * linear probing, load <= 0.5), the session table and its index, and a
 * circular heap of records (header, key, value contiguous). A PUT that
 * keeps its record size (in 8-byte units) overwrites in place; otherwise the
 * new record goes to the heap's head and the old one is marked dead. A
 * cleaner moves the tail forward as the head advances (at most
 * KV_CLEAN_FACTOR bytes examined per byte allocated, live records moved to
 * the head), so no allocation can fail for a state within the quota, and no
 * fragmentation can make one member refuse what another accepts. Heap size
 * is about twice the largest live data (max_bytes + per-key overhead); the
 * snapshot area doubles the arena. kv_arena_len() says how much.
 *
 * Snapshots (copy-on-write pages, bounded work per poll iteration):
 *   kv_snap_begin  freezes the scalars (applied index, revision, counts,
 *                  heap ends) and marks every page "not yet copied" (heap
 *                  pages holding no record at that moment count as copied:
 *                  the image never reads them). One byte per page written.
 *   any mutation   first copies each not-yet-copied page it writes into
 *                  the snapshot area (at most a few pages per write).
 *   kv_snap_step   copies up to budget_bytes of the remaining pages; true
 *                  once every page is copied: the snapshot area is then the
 *                  arena exactly as it was at kv_snap_begin, and the poller
 *                  never writes it again until kv_snap_release.
 *   kv_snap_image  the complete image, for the control thread. The poller
 *                  passes the pointer through an SPSC ring: the enqueue's
 *                  release orders every page copy before it, the dequeue's
 *                  acquire makes them visible. The control thread serializes
 *                  it with kv_image_reader_* (reads only) and tells the
 *                  poller it is done through the other ring (release, then
 *                  acquire again), and only then does the poller call
 *                  kv_snap_release: nothing is written by two threads.
 * One snapshot at a time (NR_EBUSY).
 *
 * Serialized image, format version 1, little-endian (kv_format.h has the
 * offsets): a 64-byte header (magic, version, total length, applied index,
 * revision, key count, key + value bytes, session count, header CRC32C),
 * one record per key (key_len, val_len, create and mod revisions, key,
 * value), one per session in order of last-applied index (so eviction order
 * survives), and a CRC32C of everything before it. kv_restore_* reads it in
 * chunks of any size, checking every field as it arrives. */
#ifndef NICRAFT_KV_H
#define NICRAFT_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client_wire.h"
#include "nr_err.h"

/* Bounds on the configuration. */
#define KV_KEYS_MAX (1u << 26)
#define KV_BYTES_MAX (UINT64_C(4) << 30)
#define KV_SESSIONS_MAX (1u << 22)

struct kv_config {
    uint32_t max_keys;     /* 1 .. KV_KEYS_MAX */
    uint64_t max_bytes;    /* quota on key + value bytes, 1 .. KV_BYTES_MAX */
    uint32_t max_sessions; /* client sessions remembered, 1 .. KV_SESSIONS_MAX */
    uint64_t hash_seed;    /* hash table layout only (not the state): may
                              differ between members; 0 takes a fixed one */
};

struct kv_result {
    uint8_t status;    /* enum nr_kv_status */
    bool is_duplicate; /* a retried seq: the remembered answer */
    uint64_t revision; /* the store's revision after the write (for a
                          duplicate: after the original write) */
    char msg[160];     /* NR_KV_ERROR / NR_KV_NOSPACE: why; else "" */
};

/* A key's value: val points into the store and is valid until the next
 * mutation (kv_apply, kv_restore_*, kv_reset). */
struct kv_value {
    const uint8_t *val;
    uint32_t val_len;
    uint64_t create_revision;
    uint64_t mod_revision;
};

/* What a client session remembers. */
struct kv_session {
    uint64_t client_id;
    uint64_t seq;        /* last applied */
    uint64_t index;      /* log index it was applied at */
    uint64_t revision;   /* its answer */
    uint8_t status;      /* its answer: NR_KV_OK, NOT_FOUND or NOSPACE */
};

struct kv_stats {
    uint64_t n_keys;
    uint64_t kv_bytes; /* key + value bytes held, against max_bytes */
    uint32_t n_sessions;
    uint64_t n_puts;       /* applied PUTs */
    uint64_t n_dels;       /* applied DELs (present or not) */
    uint64_t n_nospace;    /* writes refused for the quota */
    uint64_t n_duplicates; /* retried seqs answered from a session */
    uint64_t n_refused;    /* malformed commands and stale seqs */
    uint64_t n_evictions;  /* sessions evicted */
    uint64_t heap_used_bytes;   /* records, dead ones not yet cleaned included */
    uint64_t heap_len;          /* heap size */
    uint64_t cleaner_moved_bytes;
    uint64_t arena_len;         /* live state; the snapshot area is as big */
    uint64_t n_snaps;           /* snapshots completed */
    uint64_t snap_index;        /* the last begun snapshot's applied index */
    uint64_t snap_pages_cow;    /* pages copied by writes while copying */
    uint64_t snap_pages_step;   /* pages copied by kv_snap_step */
    bool is_snap_active;        /* begun and not yet released */
};

struct kv;
struct kv_image;

/* Checks *cfg, allocates and touches the arena, the snapshot area and the
 * page map. NR_EINVAL naming the field out of range, NR_ENOMEM. *out is
 * NULL on an error. */
int kv_create(const struct kv_config *cfg, struct kv **out, struct nr_err *err);
void kv_destroy(struct kv *kv);

/* Applies a write committed at log index (above kv_applied_index(), the
 * raft core's promise: asserted). Returns 0 when the command was answered
 * by the rules above (status OK, NOT_FOUND, NOSPACE, or a duplicate's),
 * NR_ESTALE for a seq below the client's last, NR_EINVAL for a malformed
 * command; res->status is NR_KV_ERROR then and res->msg says why. The
 * applied index follows index in every case. */
int kv_apply(struct kv *kv, uint64_t index, const struct nr_kv_cmd *cmd, struct kv_result *res);
/* A log entry that is not a KV command (no-op, configuration). */
void kv_skip(struct kv *kv, uint64_t index);

/* Looks key up in the live store. */
bool kv_get(const struct kv *kv, const uint8_t *key, uint32_t key_len, struct kv_value *out);
bool kv_session_get(const struct kv *kv, uint64_t client_id, struct kv_session *out);
uint64_t kv_applied_index(const struct kv *kv);
uint64_t kv_revision(const struct kv *kv);
void kv_stats(const struct kv *kv, struct kv_stats *out);
/* Bytes of the live arena (the snapshot area is as big again). */
uint64_t kv_arena_len(const struct kv *kv);

/* Empties the store: applied index 0, revision 1, no keys, no sessions.
 * Abandons a snapshot being copied; must not be called while the control
 * thread holds the image. O(table size). */
void kv_reset(struct kv *kv);

/* Snapshots: see the top of this file. kv_snap_begin: 0, or NR_EBUSY when
 * one is begun and not released. kv_snap_step: true when the image is
 * complete (also when none is begun); budget_bytes is the copying allowed
 * (a page is KV_PAGE_LEN; at least one page per call). kv_snap_image: the
 * complete image, else NULL. kv_snap_release: the control thread is done
 * with the image (or an unfinished snapshot is abandoned). */
int kv_snap_begin(struct kv *kv, struct nr_err *err);
bool kv_snap_step(struct kv *kv, uint64_t budget_bytes);
const struct kv_image *kv_snap_image(const struct kv *kv);
void kv_snap_release(struct kv *kv);

/* The control thread's side: the frozen image's figures and its bytes.
 * kv_image_len is the serialized length (what snap_writer_open needs as
 * data_len before the first byte). */
uint64_t kv_image_len(const struct kv_image *img);
uint64_t kv_image_index(const struct kv_image *img);
uint64_t kv_image_revision(const struct kv_image *img);

/* Produces the serialized bytes in order, in pieces of any size. */
struct kv_image_reader {
    const struct kv_image *img;
    uint64_t off;       /* bytes produced so far */
    uint32_t phase;     /* private from here on */
    uint32_t crc;
    uint64_t slot;      /* next hash slot to look at */
    uint32_t sess;      /* next session (index + 1, 0 at the end) */
    uint32_t n_sess_done;
    const uint8_t *src; /* pending bytes of the current piece */
    uint32_t src_len;
    uint8_t stage[64];
};
void kv_image_reader_init(struct kv_image_reader *r, const struct kv_image *img);
/* Writes up to cap next bytes into buf; returns how many, 0 at the end. */
size_t kv_image_read(struct kv_image_reader *r, void *buf, size_t cap);

/* Restore (snapshot install), streaming: kv_restore_begin empties the
 * store; kv_restore_feed takes the next len bytes (any split); kv_restore_end
 * checks that the image ended where its header said. Bytes come from disk or
 * a peer: every count, length, revision, order and checksum is checked as it
 * arrives. Errors, each naming the offset and field:
 *   NR_ECORRUPT  the image contradicts itself: magic, CRCs, lengths against
 *                bounds and against the total, duplicate keys or clients,
 *                revisions above the image's, session order, truncation,
 *                trailing bytes;
 *   NR_EINVAL    another format version, or a valid image larger than this
 *                store's configuration (keys, bytes, sessions), or feed
 *                without begin;
 *   NR_EBUSY     a snapshot is begun and not released (begin only).
 * Any error empties the store (kv_reset) and ends the restore; the store
 * stays usable. The restored store applies from the image's index on.
 * Runs on the poller (a stall at install: O(table + image)). */
int kv_restore_begin(struct kv *kv, struct nr_err *err);
int kv_restore_feed(struct kv *kv, const void *chunk, size_t len, struct nr_err *err);
int kv_restore_end(struct kv *kv, struct nr_err *err);
/* The three above on one buffer. */
int kv_restore(struct kv *kv, const void *buf, size_t len, struct nr_err *err);

#endif
