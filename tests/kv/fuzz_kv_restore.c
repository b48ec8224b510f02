/* fuzz_kv_restore.c - libFuzzer target for kv_restore: the input is a
 * serialized image (kv_format.h). It is restored whole, then in chunks
 * whose sizes come from the input, then with both CRCs made right so that
 * mutations reach the field checks behind them (a mutated image almost
 * never passes its CRCs by chance). Nothing may crash or assert; a refusal
 * must name an offset and leave the store empty; an accepted image must
 * snapshot, serialize and restore again into a second store, to the same
 * figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "kv_test_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct kv *kv, *kv2;

static void check(int rc, const struct nr_err *err, struct kv *k)
{
    struct kv_stats st;

    kv_stats(k, &st);
    if (rc != 0) {
        if (err->code != rc || strstr(err->msg, "offset ") == NULL || st.n_keys != 0 ||
            st.n_sessions != 0 || kv_applied_index(k) != 0 || kv_revision(k) != 1) {
            fprintf(stderr, "refusal %s without an offset or a non-empty store: \"%s\"\n",
                    nr_code_name(rc), err->msg);
            abort();
        }
        return;
    }
    /* Accepted: it must round-trip. */
    if (kv_snap_begin(k, NULL) != 0)
        abort();
    while (!kv_snap_step(k, 1u << 20)) {
    }
    const struct kv_image *img = kv_snap_image(k);
    struct kv_image_reader r;
    uint8_t buf[4096];
    struct nr_err err2 = {0};
    size_t n;
    kv_image_reader_init(&r, img);
    int rc2 = kv_restore_begin(kv2, &err2);
    while (rc2 == 0 && (n = kv_image_read(&r, buf, sizeof(buf))) > 0)
        rc2 = kv_restore_feed(kv2, buf, n, &err2);
    if (rc2 == 0)
        rc2 = kv_restore_end(kv2, &err2);
    struct kv_stats st2;
    kv_stats(kv2, &st2);
    if (rc2 != 0 || st2.n_keys != st.n_keys || st2.kv_bytes != st.kv_bytes ||
        st2.n_sessions != st.n_sessions || kv_applied_index(kv2) != kv_applied_index(k)) {
        fprintf(stderr, "an accepted image did not round-trip: %s\n", err2.msg);
        abort();
    }
    kv_snap_release(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct kv_config cfg = {64, 1u << 16, 16, 0};
    struct nr_err err = {0};

    if (kv == NULL && (kv_create(&cfg, &kv, &err) != 0 || kv_create(&cfg, &kv2, &err) != 0))
        abort();
    check(kv_restore(kv, data, size, &err), &err, kv);

    size_t chunk = size > 0 ? 1 + data[0] % 61 : 1, off = 0;
    int rc = kv_restore_begin(kv, &err);
    while (rc == 0 && off < size) {
        size_t n = chunk < size - off ? chunk : size - off;
        rc = kv_restore_feed(kv, data + off, n, &err);
        off += n;
    }
    if (rc == 0)
        rc = kv_restore_end(kv, &err);
    check(rc, &err, kv);

    uint8_t *signed_copy = malloc(size + 1);
    if (signed_copy == NULL)
        abort();
    memcpy(signed_copy, data, size);
    kt_img_sign(signed_copy, size);
    check(kv_restore(kv, signed_copy, size, &err), &err, kv);
    free(signed_copy);
    return 0;
}
