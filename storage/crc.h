/* crc.h - CRC32C (Castagnoli) through ISA-L's crc32_iscsi: about 50 GB/s on
 * one core here, against ~0.5 GB/s for a table-driven loop (short buffers
 * through the SSE4.2 instruction, where ISA-L's set-up costs more). */
#ifndef NICRAFT_CRC_H
#define NICRAFT_CRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The CRC32C of len bytes at buf, continuing from crc (0 to start). */
uint32_t nr_crc32c(uint32_t crc, const void *buf, size_t len);

/* The CRC32C, continuing from crc, of buf[0, head) followed by
 * buf[head + skip, head + skip + len): a checksum over a range that leaves
 * out a field inside it (a frame header's own CRC field), in one pass.
 * With AVX-512 and VPCLMULQDQ the whole of it is folded as one message
 * from 64 bytes on; elsewhere two nr_crc32c calls. */
uint32_t nr_crc32c_skip(uint32_t crc, const void *buf, size_t head, size_t skip, size_t len);

/* Copies len bytes from src to dst (not overlapping) and returns their
 * CRC32C continuing from crc: the result of memcpy and then nr_crc32c, in
 * one pass over the data where the CPU allows (large copies into a WAL
 * batch buffer, whose lines the device's last read left uncached). */
uint32_t nr_crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len);
/* True when, on this CPU, nr_crc32c_copy folds the CRC into the copy
 * (AVX-512 and VPCLMULQDQ) for 16 KiB and more; false: memcpy, then
 * ISA-L. For reports. */
bool nr_crc32c_copy_is_folded(void);

#endif
