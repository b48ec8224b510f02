/* crc.c - CRC32C via ISA-L. ISA-L's crc32_iscsi takes and returns the raw
 * register (no final inversion), so the conventional CRC32C (initial value
 * and final xor 0xffffffff, the one iSCSI and ext4 use) wraps it. */
#include "crc.h"

#include <isa-l/crc.h>

uint32_t nr_crc32c(uint32_t crc, const void *buf, size_t len)
{
    /* Chunks keep the int length ISA-L takes within range. */
    const unsigned char *p = buf;
    uint32_t reg = ~crc;

    while (len > 0) {
        int n = len > (1u << 30) ? (1 << 30) : (int)len;

        reg = crc32_iscsi((unsigned char *)p, n, reg);
        p += n;
        len -= (size_t)n;
    }
    return ~reg;
}
