/* fake_server_main.c - client-fake-server: one scripted leader (FAKE_OK,
 * fake_server.h) on 127.0.0.1 for nicraft-bench's smoke test and for
 * trying the client by hand. Prints `port=P cluster_id=HEX` and serves
 * until --seconds have passed or SIGTERM.
 *   client-fake-server [--port P] [--seconds S] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_server.h"

int main(int argc, char **argv)
{
    unsigned long port = 0;
    double seconds = 30;

    for (int i = 1; i + 1 < argc; i += 2) {
        char *end;
        if (strcmp(argv[i], "--port") == 0) {
            port = strtoul(argv[i + 1], &end, 10);
            if (*end != '\0' || port > 65535)
                goto usage;
        } else if (strcmp(argv[i], "--seconds") == 0) {
            seconds = strtod(argv[i + 1], &end);
            if (*end != '\0' || !(seconds > 0 && seconds <= 3600))
                goto usage;
        } else {
            goto usage;
        }
    }
    if (argc % 2 != 1)
        goto usage;
    uint16_t got;
    int fd = fake_server_open((uint16_t)port, &got);
    if (fd < 0)
        return 1;
    printf("port=%u cluster_id=%016" PRIx64 "\n", got, FAKE_CLUSTER);
    fflush(stdout);
    struct fake_config fc = {.mode = FAKE_OK, .server_id = 0x5e0001,
                             .run_ms = (uint32_t)(seconds * 1000)};
    fake_server_serve(fd, &fc);
    return 0;
usage:
    fprintf(stderr, "usage: client-fake-server [--port 0..65535] [--seconds 0..3600]\n");
    return 2;
}
