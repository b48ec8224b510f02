/* data_dir_test.c - data directory identity and locking: created once with
 * a random directory ID, kept across opens, a second open refused while
 * the first holds the lock, another cluster's or member's directory
 * refused with both IDs, a damaged identity and a foreign non-empty
 * directory refused. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data_dir.h"
#include "unit_check.h"
#include "wal_test_util.h"

static char g_path[256];

static void test_create_reopen(void)
{
    struct data_dir *d = NULL, *d2 = NULL;
    struct nr_err err = {0};
    uint8_t first_id[DATA_DIR_ID_LEN];

    int rc = data_dir_open(g_path, 0xaa, 0x1, &d, &err);
    if (!UNIT_CHECK(rc == 0, "create: %s", err.msg))
        return;
    UNIT_CHECK(data_dir_is_new(d), "a fresh directory is new");
    memcpy(first_id, data_dir_ident(d)->dir_id, DATA_DIR_ID_LEN);
    static const uint8_t zero[DATA_DIR_ID_LEN];
    UNIT_CHECK(memcmp(first_id, zero, DATA_DIR_ID_LEN) != 0, "a random directory ID");
    rc = data_dir_open(g_path, 0xaa, 0x1, &d2, &err);
    UNIT_CHECK(rc == NR_EBUSY && strstr(err.msg, "in use") != NULL,
               "a second open is refused while locked (%d): %s", rc, err.msg);
    data_dir_close(d);
    rc = data_dir_open(g_path, 0xaa, 0x1, &d, &err);
    UNIT_CHECK(rc == 0 && !data_dir_is_new(d), "reopen after close: %s", err.msg);
    if (rc == 0) {
        UNIT_CHECK(memcmp(data_dir_ident(d)->dir_id, first_id, DATA_DIR_ID_LEN) == 0,
                   "the directory ID is kept");
        data_dir_close(d);
    }
}

static void test_foreign(void)
{
    struct data_dir *d = NULL;
    struct nr_err err = {0};

    int rc = data_dir_open(g_path, 0xbb, 0x1, &d, &err);
    UNIT_CHECK(rc == NR_EREFUSED && strstr(err.msg, "00000000000000aa") != NULL &&
               strstr(err.msg, "00000000000000bb") != NULL,
               "another cluster's directory refused naming both: %s", err.msg);
    rc = data_dir_open(g_path, 0xaa, 0x3, &d, &err);
    UNIT_CHECK(rc == NR_EREFUSED && strstr(err.msg, "member 0000000000000001") != NULL &&
               strstr(err.msg, "member 0000000000000003") != NULL,
               "another member's directory refused naming both: %s", err.msg);
}

static void test_damaged_and_stray(void)
{
    struct data_dir *d = NULL;
    struct nr_err err = {0};
    char p[320];

    snprintf(p, sizeof(p), "%s/IDENTITY", g_path);
    wtu_poke(p, 20, -1, 1);
    int rc = data_dir_open(g_path, 0xaa, 0x1, &d, &err);
    UNIT_CHECK(rc == NR_ECORRUPT && strstr(err.msg, "IDENTITY") != NULL,
               "a damaged identity is refused: %s", err.msg);
    unlink(p);
    snprintf(p, sizeof(p), "%s/g00000007-0000000000000001.wal", g_path);
    int fd = open(p, O_CREAT | O_WRONLY, 0600);
    close(fd);
    rc = data_dir_open(g_path, 0xaa, 0x1, &d, &err);
    UNIT_CHECK(rc == NR_EREFUSED && strstr(err.msg, "no IDENTITY") != NULL,
               "files without an identity are not adopted: %s", err.msg);
    unlink(p);
    rc = data_dir_open(g_path, 0xaa, 0x1, &d, &err);
    UNIT_CHECK(rc == 0 && data_dir_is_new(d), "an emptied directory starts anew: %s", err.msg);
    if (rc == 0)
        data_dir_close(d);
    rc = data_dir_open(g_path, 0, 0x1, &d, &err);
    UNIT_CHECK(rc == NR_EINVAL, "a zero cluster ID is refused");
}

int main(void)
{
    const char *base = wtu_tmpdir();

    snprintf(g_path, sizeof(g_path), "%s/data", base);
    test_create_reopen();
    test_foreign();
    test_damaged_and_stray();
    wtu_rmdir(g_path);
    wtu_rmdir(base);
    return unit_finish();
}
