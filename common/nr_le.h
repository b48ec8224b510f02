/* nr_le.h - little-endian fields in wire and disk formats, at any
 * alignment and on any host byte order: memcpy (which the compiler turns
 * into one unaligned load or store) and the <endian.h> conversions (no-ops
 * on little-endian hosts). libc only. */
#ifndef NICRAFT_NR_LE_H
#define NICRAFT_NR_LE_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

static inline void nr_put_le16(uint8_t *p, uint16_t v)
{
    v = htole16(v);
    memcpy(p, &v, sizeof(v));
}

static inline uint16_t nr_get_le16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof(v));
    return le16toh(v);
}

static inline void nr_put_le32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, sizeof(v));
}

static inline void nr_put_le64(uint8_t *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, sizeof(v));
}

static inline uint32_t nr_get_le32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return le32toh(v);
}

static inline uint64_t nr_get_le64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return le64toh(v);
}

#endif
