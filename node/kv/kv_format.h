/* kv_format.h - the serialized image (snapshot data), format version 1.
 * Every field little-endian (nr_le.h); offsets for tests that damage a
 * chosen field.
 *
 * Header, KV_IMG_HDR_LEN bytes:
 *     0  magic "NRKVIMG\n" (8 bytes)
 *     8  format version (u32) = KV_IMG_VERSION
 *    12  header length (u32) = KV_IMG_HDR_LEN
 *    16  total length (u64): every byte of the image, trailer included
 *    24  applied index (u64)
 *    32  revision (u64), >= 1
 *    40  key count (u64), <= KV_KEYS_MAX
 *    48  key + value bytes (u64), <= KV_BYTES_MAX
 *    56  session count (u32), <= KV_SESSIONS_MAX
 *    60  header CRC32C over bytes 0..59 (u32)
 * Then key count key records, KV_IMG_KEY_HDR_LEN bytes each and then the
 * key and the value:
 *     0  key length (u32), 1 .. NR_KV_KEY_MAX
 *     4  value length (u32), 0 .. NR_KV_VAL_MAX
 *     8  create revision (u64), 2 .. mod revision
 *    16  mod revision (u64), create revision .. the header's revision
 * (no key twice; the key and value lengths add up to the header's sum).
 * Then session count session records, KV_IMG_SESS_LEN bytes each, in order
 * of strictly increasing index (the oldest first: eviction order):
 *     0  client ID (u64), non-zero, no client twice
 *     8  last applied seq (u64), non-zero
 *    16  index it was applied at (u64), 1 .. the header's applied index
 *    24  its answer's revision (u64), 1 .. the header's revision
 *    32  its answer's status (u8): NR_KV_OK, NR_KV_NOT_FOUND, NR_KV_NOSPACE
 *    33  reserved, zero (7 bytes)
 * Then the trailer: CRC32C of every byte before it (u32).
 *
 * total length = KV_IMG_HDR_LEN + key count * KV_IMG_KEY_HDR_LEN + key and
 * value bytes + session count * KV_IMG_SESS_LEN + KV_IMG_TRAILER_LEN. */
#ifndef NICRAFT_KV_FORMAT_H
#define NICRAFT_KV_FORMAT_H

#define KV_IMG_MAGIC "NRKVIMG\n"
#define KV_IMG_VERSION 1u
#define KV_IMG_HDR_LEN 64u
#define KV_IMG_KEY_HDR_LEN 24u
#define KV_IMG_SESS_LEN 40u
#define KV_IMG_TRAILER_LEN 4u

#define KV_IMG_OFF_VERSION 8u
#define KV_IMG_OFF_HDR_LEN 12u
#define KV_IMG_OFF_TOTAL_LEN 16u
#define KV_IMG_OFF_INDEX 24u
#define KV_IMG_OFF_REVISION 32u
#define KV_IMG_OFF_N_KEYS 40u
#define KV_IMG_OFF_KV_BYTES 48u
#define KV_IMG_OFF_N_SESSIONS 56u
#define KV_IMG_OFF_HDR_CRC 60u

#define KV_IMG_KEY_OFF_KEY_LEN 0u
#define KV_IMG_KEY_OFF_VAL_LEN 4u
#define KV_IMG_KEY_OFF_CREATE 8u
#define KV_IMG_KEY_OFF_MOD 16u

#define KV_IMG_SESS_OFF_CLIENT 0u
#define KV_IMG_SESS_OFF_SEQ 8u
#define KV_IMG_SESS_OFF_INDEX 16u
#define KV_IMG_SESS_OFF_REVISION 24u
#define KV_IMG_SESS_OFF_STATUS 32u
#define KV_IMG_SESS_OFF_RESERVED 33u

#endif
