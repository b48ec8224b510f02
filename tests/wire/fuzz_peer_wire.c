/* fuzz_peer_wire.c - libFuzzer target for every node/wire decoder: the
 * first input byte picks the decoder (enum ws_kind, modulo WS_KINDS), the
 * rest is one message from a peer (or an entry's data). ws_check decodes
 * it, and when accepted encodes it again: the bytes must come back
 * exactly, and every refusal must be an error value with its code and a
 * sentence (CONVENTIONS 1.7 and 1.8). A snapshot chunk is tried again with
 * its CRC made right, so that mutations reach the checks behind it.
 * Anything else aborts, so the fuzzer reports it. */
#include <stdio.h>
#include <stdlib.h>

#include "wire_samples.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char problem[512] = "";
    int rc;

    if (size < 1 || size > (1u << 20))
        return 0;
    if (!ws_check(data[0], data + 1, (uint32_t)(size - 1), &rc, problem, sizeof(problem))) {
        fprintf(stderr, "fuzz-peer-wire: %s\n", problem);
        abort();
    }
    return 0;
}
