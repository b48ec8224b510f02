/* data_dir.h - the data directory's identity and lock.
 *
 * A data directory is created once, with the cluster ID, the member ID and a
 * random 128-bit data-directory ID (getrandom), written durably to IDENTITY
 * (temporary file, fsync, rename, directory fsync). A member whose
 * directory was wiped comes back with a new directory ID, which is how the
 * cluster tells that it lost its state (SPEC section 3). An exclusive
 * flock on LOCK keeps two processes (or two opens in one process) out of
 * one directory. */
#ifndef NICRAFT_DATA_DIR_H
#define NICRAFT_DATA_DIR_H

#include <stdbool.h>
#include <stdint.h>

#include "nr_err.h"

#define DATA_DIR_ID_LEN 16
#define DATA_DIR_PATH_MAX 200

struct data_dir_ident {
    uint64_t cluster_id;
    uint64_t member_id;
    uint8_t dir_id[DATA_DIR_ID_LEN];
};

struct data_dir;

/* Opens (creating when missing or empty) the directory at path for
 * cluster_id / member_id and holds its lock until data_dir_close. Errors:
 * NR_EBUSY (another process holds the lock), NR_EREFUSED (the directory
 * belongs to another cluster or member: both pairs of IDs in the
 * sentence; or it holds files but no identity), NR_ECORRUPT (IDENTITY
 * damaged), NR_EINVAL (zero IDs, path too long), NR_ENOMEM. */
int data_dir_open(const char *path, uint64_t cluster_id, uint64_t member_id,
                  struct data_dir **out, struct nr_err *err);
void data_dir_close(struct data_dir *d);
/* Reads the identity of the directory at path without opening or locking
 * it (a restarting node learns its IDs before it opens): 0 with *is_found
 * false when there is none, 0 with *id filled, or NR_ECORRUPT /
 * NR_EREFUSED as data_dir_open. */
int data_dir_peek(const char *path, struct data_dir_ident *id, bool *is_found,
                  struct nr_err *err);
const struct data_dir_ident *data_dir_ident(const struct data_dir *d);
/* True when this open created the identity (a new or wiped member). */
bool data_dir_is_new(const struct data_dir *d);
const char *data_dir_path(const struct data_dir *d);
/* The directory ID as 32 lowercase hex digits and a NUL. */
void data_dir_id_hex(const uint8_t id[DATA_DIR_ID_LEN], char out[2 * DATA_DIR_ID_LEN + 1]);

#endif
