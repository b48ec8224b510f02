/* wire_seed_gen.c - client-wire-seed-gen DIR: writes valid requests and
 * responses (every op and status) into DIR as the fuzzer's starting corpus. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "client_wire.h"

static uint8_t buf[NR_KV_CMD_LEN_MAX];

static int write_one(const char *dir, int n, int len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/seed-%03d", dir, n);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, (size_t)len, f) != (size_t)len) {
        perror(path);
        return 1;
    }
    return fclose(f) != 0;
}

int main(int argc, char **argv)
{
    static const uint8_t val[300] = {1, 2, 3};
    struct nr_err err;
    int n = 0, bad = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: client-wire-seed-gen DIR\n");
        return 2;
    }
    for (uint8_t op = NR_KV_PUT; op <= NR_KV_DEL; op++) {
        for (uint32_t vl = 0; vl <= 256; vl += 256) {
            struct nr_kv_cmd c = {op, op == NR_KV_GET ? NR_KV_F_SERIALIZABLE : 0, 7, 9,
                                  (const uint8_t *)"key-0001", 8, val, op == NR_KV_PUT ? vl : 0};
            int len = nr_kv_cmd_encode(&c, buf, sizeof(buf), &err);
            bad |= len < 0 || write_one(argv[1], n++, len);
        }
        for (uint8_t st = NR_KV_OK; st <= NR_KV_NOSPACE; st++) {
            bool has_val = (op == NR_KV_GET && st == NR_KV_OK) || st == NR_KV_ERROR ||
                           st == NR_KV_BUSY || st == NR_KV_NOSPACE;
            struct nr_kv_resp r = {op, st, 7, 9, 33, 0, 0, 0, val, has_val ? 20 : 0};
            if (st == NR_KV_NOT_LEADER)
                r = (struct nr_kv_resp){op, st, 7, 9, 0, 3, 0x7f000001, 2379, NULL, 0};
            int len = nr_kv_resp_encode(&r, buf, sizeof(buf), &err);
            bad |= len < 0 || write_one(argv[1], n++, len);
        }
    }
    return bad ? 1 : 0;
}
