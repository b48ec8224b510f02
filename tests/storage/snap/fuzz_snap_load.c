/* fuzz_snap_load.c - libFuzzer target for snapshot loading: the input is a
 * whole snapshot file. It is opened as this node's (matching IDs), as any
 * cluster's (zero IDs) and as another cluster's, and streamed to the end.
 * Then the same bytes with both CRCs made right, so that mutations reach
 * the field checks behind them (a mutated file almost never passes its
 * CRCs by chance). Nothing may crash or assert, and every refusal must be an error value
 * that names the file and an offset (CONVENTIONS 1.7 and 1.8): a refusal
 * without them aborts here, so the fuzzer reports it.
 *
 * The input goes to a memfd opened by its /proc path: no disk in the loop. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crc.h"
#include "nr_le.h"
#include "snap_file.h"

#define FUZZ_CLUSTER UINT64_C(0x81a549bdbfd5c3a8) /* what snap-seed-gen writes */
#define FUZZ_MEMBER UINT64_C(0x96af95420b65e5f5)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int mem_fd = -1;
static char mem_path[64];

static void check_refusal(int rc, const struct nr_err *err)
{
    if (rc == 0)
        return;
    if (err->code != rc || strstr(err->msg, mem_path) == NULL ||
        strstr(err->msg, "offset ") == NULL) {
        fprintf(stderr, "refusal %s without file and offset: \"%s\"\n", nr_code_name(rc), err->msg);
        abort();
    }
}

static void load(uint64_t cluster_id, uint64_t member_id, size_t size)
{
    struct snap_reader *r;
    struct snap_header h;
    struct nr_err err = {0};
    uint8_t buf[4096];
    size_t n = 0, total = 0;

    int rc = snap_reader_open(mem_path, cluster_id, member_id, &r, &h, &err);
    check_refusal(rc, &err);
    if (rc != 0)
        return;
    if (h.data_len + SNAP_HEADER_LEN + SNAP_TRAILER_LEN != size ||
        h.meta.conf.n_voters > RAFT_VOTERS_MAX || h.meta.conf.n_learners > RAFT_LEARNERS_MAX) {
        fprintf(stderr, "accepted a header that disagrees with the file\n");
        abort();
    }
    /* Bounded: data_len is at most size. */
    do {
        rc = snap_reader_read(r, buf, sizeof(buf), &n, &err);
        total += n;
    } while (rc == 0 && n > 0);
    snap_reader_close(r);
    if (rc != 0 || total != h.data_len) {
        fprintf(stderr, "a verified snapshot streamed %zu of %llu bytes: %s\n", total,
                (unsigned long long)h.data_len, err.msg);
        abort();
    }
}

static void put_file(const uint8_t *data, size_t size)
{
    if (ftruncate(mem_fd, 0) != 0 || (size > 0 && pwrite(mem_fd, data, size, 0) != (ssize_t)size))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (mem_fd < 0) {
        mem_fd = memfd_create("fuzz-snap", MFD_CLOEXEC);
        if (mem_fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(mem_path, sizeof(mem_path), "/proc/self/fd/%d", mem_fd);
    }
    put_file(data, size);
    load(FUZZ_CLUSTER, FUZZ_MEMBER, size);
    load(0, 0, size);
    load(FUZZ_CLUSTER ^ 1, FUZZ_MEMBER, size);
    if (size < SNAP_HEADER_LEN + SNAP_TRAILER_LEN)
        return 0;
    uint8_t *signed_copy = malloc(size);
    if (signed_copy == NULL)
        abort();
    memcpy(signed_copy, data, size);
    nr_put_le32(signed_copy + SNAP_OFF_HEADER_CRC, nr_crc32c(0, signed_copy, SNAP_OFF_HEADER_CRC));
    nr_put_le32(signed_copy + size - SNAP_TRAILER_LEN,
                nr_crc32c(0, signed_copy, size - SNAP_TRAILER_LEN));
    put_file(signed_copy, size);
    free(signed_copy);
    load(FUZZ_CLUSTER, FUZZ_MEMBER, size);
    load(0, 0, size);
    return 0;
}
