/* memcrypt — whole-file helpers with clear errors and size limits. */
#ifndef MEMCRYPT_FILEIO_H
#define MEMCRYPT_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

/* Read a whole file into a fresh malloc'd buffer (NUL-terminated one byte past *len, so text
 * parsers may use it as a string). Files larger than max_len are refused with MC_E_RANGE.
 * The caller frees *buf. */
mc_status mc_file_read(const char *path, size_t max_len, uint8_t **buf, size_t *len, struct mc_error *err);
/* Write a file atomically: temp file in the same folder, fsync, rename, fsync the folder. */
mc_status mc_file_write_atomic(const char *path, const uint8_t *buf, size_t len, struct mc_error *err);

#endif
