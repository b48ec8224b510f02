/* kv_test_util.h - the kv tests' model of the store (a key universe with
 * plain arrays, sessions scanned linearly), commands described by numbers
 * and built into bytes on demand, and helpers that serialize and restore. */
#ifndef NICRAFT_KV_TEST_UTIL_H
#define NICRAFT_KV_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv.h"

#define KT_KEYS_MAX 256u    /* key universe */
#define KT_CLIENTS_MAX 32u
#define KT_SESSIONS_MAX 64u

/* A command as numbers; kt_cmd_build turns it into a struct nr_kv_cmd. */
enum kt_kind {
    KT_APPLY = 0,  /* kv_apply */
    KT_SKIP,       /* kv_skip */
};
enum kt_bad {
    KT_BAD_NONE = 0,
    KT_BAD_GET,       /* op GET */
    KT_BAD_OP,        /* op 9 */
    KT_BAD_KEY_LEN,   /* key_len 0 */
    KT_BAD_CLIENT,    /* client_id 0 */
    KT_BAD_DEL_VALUE, /* a DEL with a value */
};
struct kt_cmd {
    uint8_t kind;
    uint8_t op;
    uint8_t bad;
    uint32_t key;     /* index in the universe */
    uint32_t val_len;
    uint64_t val_tag; /* the value's bytes are kt_fill(val_tag) */
    uint64_t client_id;
    uint64_t seq;
};

struct kt_key {
    bool is_present;
    uint32_t val_len;
    uint64_t val_tag;
    uint64_t create_rev;
    uint64_t mod_rev;
};

struct kt_model {
    struct kv_config cfg;
    uint32_t n_universe;
    struct kt_key keys[KT_KEYS_MAX];
    struct kv_session sess[KT_SESSIONS_MAX];
    uint32_t n_sessions;
    uint64_t applied_index;
    uint64_t revision;
    uint64_t n_keys;
    uint64_t kv_bytes;
};

struct kt_expect {
    int rc;
    uint8_t status;
    bool is_duplicate;
    uint64_t revision;
};

uint32_t kt_key_len(uint32_t key);
/* Writes key's bytes (kt_key_len of them) into buf. */
void kt_key_bytes(uint32_t key, uint8_t *buf);
void kt_fill(uint64_t tag, uint8_t *buf, uint32_t len);

/* Buffers big enough for any command kt_cmd_build makes. */
struct kt_bufs {
    uint8_t key[NR_KV_KEY_MAX];
    uint8_t val[NR_KV_VAL_MAX];
};
void kt_cmd_build(const struct kt_cmd *c, struct kt_bufs *b, struct nr_kv_cmd *out);

void kt_model_init(struct kt_model *m, const struct kv_config *cfg, uint32_t n_universe);
/* What the store must answer; updates the model. */
struct kt_expect kt_model_apply(struct kt_model *m, uint64_t index, const struct kt_cmd *c);

/* Applies c to kv at index and checks the answer against the model's
 * (which it updates). Returns false on a mismatch (already counted). */
bool kt_step(struct kv *kv, struct kt_model *m, uint64_t index, const struct kt_cmd *c,
             struct kt_bufs *b);
/* A random command for the model's universe and clients. */
void kt_random_cmd(uint64_t *rng, const struct kt_model *m, uint64_t *client_seq,
                   uint32_t n_clients, struct kt_cmd *last, struct kt_cmd *out);

/* Compares every key, session and figure of kv with m (counted checks);
 * what names the comparison in failures. */
bool kt_model_check(const struct kv *kv, const struct kt_model *m, const char *what);

/* Serializes a complete image in chunks of random sizes up to chunk_max
 * into a malloc'd buffer (*len bytes). */
uint8_t *kt_serialize(const struct kv_image *img, uint64_t *rng, size_t chunk_max, size_t *len);
/* Feeds buf to kv_restore_* in chunks of random sizes up to chunk_max. */
int kt_restore_chunked(struct kv *kv, const uint8_t *buf, size_t len, uint64_t *rng,
                       size_t chunk_max, struct nr_err *err);
/* Begins a snapshot and steps it to completion with no writes between. */
const struct kv_image *kt_snapshot_now(struct kv *kv);

/* An image written by the test itself (kv_format.h), for forged inputs.
 * Returns a malloc'd buffer with right CRCs; the parts are taken as given
 * (no checks), so tests can describe broken images. */
struct kt_img_key {
    const uint8_t *key;
    uint32_t key_len;
    const uint8_t *val;
    uint32_t val_len;
    uint64_t create_rev;
    uint64_t mod_rev;
};
uint8_t *kt_img_write(uint64_t index, uint64_t revision, const struct kt_img_key *keys,
                      uint32_t n_keys, const struct kv_session *sess, uint32_t n_sess,
                      size_t *len);
/* Recomputes both CRCs of an image buffer (header when len covers it). */
void kt_img_sign(uint8_t *buf, size_t len);

/* Checks an image's bytes against the model: every key once, sessions in
 * index order, header figures. */
bool kt_image_matches(const uint8_t *buf, size_t len, const struct kt_model *m, const char *what);

/* kv is empty and usable: figures of an empty store, and a put works. */
bool kt_check_empty_usable(struct kv *kv, const char *what);

#endif
