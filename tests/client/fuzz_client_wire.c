/* fuzz_client_wire.c - libFuzzer target for the client protocol decoders
 * (client/client_wire.h): the input is one message's bytes, decoded as a
 * request and as a response. A refusal must be NR_EINVAL with a sentence
 * naming the message; an accepted message must encode back to exactly the
 * input (the format has one encoding per value, reserved bytes included)
 * and its pointers must lie inside the input. Anything else aborts, so the
 * fuzzer reports it (CONVENTIONS 1.7 and 1.8). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[NR_KV_CMD_LEN_MAX + NR_KV_RESP_LEN_MAX];

static void fail(const char *what, const struct nr_err *err)
{
    fprintf(stderr, "fuzz-client-wire: %s (\"%s\")\n", what, err->msg);
    abort();
}

static void check_refusal(int rc, const struct nr_err *err, const char *prefix)
{
    if (rc != NR_EINVAL || err->code != NR_EINVAL || strncmp(err->msg, prefix, strlen(prefix)) != 0)
        fail("a refusal without NR_EINVAL and a sentence naming the message", err);
}

static bool inside(const uint8_t *p, uint32_t n, const uint8_t *data, size_t size)
{
    return n == 0 || (p >= data && p + n <= data + size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nr_err err = {0};
    struct nr_kv_cmd c;
    struct nr_kv_resp r;

    if (size > NR_KV_CMD_LEN_MAX + 16)
        return 0;
    int rc = nr_kv_cmd_decode(data, (uint32_t)size, &c, &err);
    if (rc != 0) {
        check_refusal(rc, &err, "client request: ");
    } else {
        if (!inside(c.key, c.key_len, data, size) || !inside(c.val, c.val_len, data, size))
            fail("a decoded request points outside the input", &err);
        int len = nr_kv_cmd_encode(&c, out, sizeof(out), &err);
        if (len < 0 || (size_t)len != size || memcmp(out, data, size) != 0)
            fail("an accepted request does not encode back to its bytes", &err);
    }
    err = (struct nr_err){0};
    rc = nr_kv_resp_decode(data, (uint32_t)size, &r, &err);
    if (rc != 0) {
        check_refusal(rc, &err, "client response: ");
    } else {
        if (!inside(r.val, r.val_len, data, size))
            fail("a decoded response points outside the input", &err);
        int len = nr_kv_resp_encode(&r, out, sizeof(out), &err);
        if (len < 0 || (size_t)len != size || memcmp(out, data, size) != 0)
            fail("an accepted response does not encode back to its bytes", &err);
    }
    return 0;
}
