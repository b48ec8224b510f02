/* snap_test_util.h - helpers shared by the snapshot tests, the seed-corpus
 * generator and the fuzz target: headers, deterministic data, whole-file
 * writes through snap_writer. */
#ifndef NICRAFT_SNAP_TEST_UTIL_H
#define NICRAFT_SNAP_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snap_file.h"

/* The IDs the tests and the seed corpus write (the fuzz target opens with
 * them too, so the ID checks see matching and mismatching files). */
#define SNAP_TEST_CLUSTER UINT64_C(0x81a549bdbfd5c3a8)
#define SNAP_TEST_MEMBER UINT64_C(0x96af95420b65e5f5)

/* A header for cluster/member, index, term and data_len, with a
 * configuration chosen by shape: 0 three voters; 1 joint (three and three)
 * with a learner and a demoted voter, auto_leave; 2 every list full; 3 no
 * members at all. */
void snap_test_header(struct snap_header *h, uint64_t index, uint64_t term, uint64_t data_len,
                      int shape);
/* Deterministic bytes: byte i of stream seed. */
void snap_test_fill(uint8_t *buf, size_t len, uint64_t seed, uint64_t start);
/* Writes a whole snapshot with data from snap_test_fill(seed), appended
 * in pieces of chunk bytes: the writer's result; path_out gets the path. */
int snap_test_write(const char *dir, const struct snap_header *h, uint64_t seed, size_t chunk,
                    struct storage_faults *faults, char *path_out, size_t path_len,
                    struct nr_err *err);

/* A fresh directory under $TMPDIR (or /tmp) named nicraft-snap-<what>-*:
 * 0 or -errno. */
int snap_test_mkdtemp(char *buf, size_t len, const char *what);
/* Removes dir and the plain files in it. */
void snap_test_rmdir(const char *dir);
/* Copies src to dst: 0 or -errno. */
int snap_test_copy(const char *src, const char *dst);
/* Overwrites len bytes at off in the file with bytes, then recomputes the
 * header CRC (when resign_header) and the trailer (when resign_file), so
 * the forged field is what the reader meets: 0 or -errno. */
int snap_test_forge(const char *path, uint64_t off, const void *bytes, size_t len,
                    bool resign_header, bool resign_file);
/* The state-machine bytes of a snapshot, read back through snap_reader in
 * pieces of max bytes into buf (cap bytes): the reader's result. */
int snap_test_read(const char *path, uint64_t cluster_id, uint64_t member_id, struct snap_header *h,
                   uint8_t *buf, size_t cap, size_t max, size_t *n_out, struct nr_err *err);

#endif
