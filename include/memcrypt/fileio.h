/* memcrypt — every file the library and the CLI read or write goes through these helpers.
 *
 * Inputs are untrusted paths. mc_file_read takes regular files only: a FIFO, device, socket or
 * folder is refused before anything is read (it is opened non-blocking, so a FIFO without a
 * writer cannot hang the caller), and the size from fstat is checked against the caller's
 * limit before one byte is read. mc_file_read_stream also takes a pipe or FIFO (read until EOF,
 * failing when no data arrives for a while) and /dev/null, for the inputs that peer tools take
 * from process substitution (kernel, initrd); other character devices (/dev/zero, a terminal)
 * are refused.
 *
 * Outputs go through an output set: every file is written and synced to a temporary file next
 * to its destination (or into a temporary folder beside a destination folder that does not
 * exist yet), and nothing appears under a destination name until mc_outset_commit, after every
 * file was written. A command that fails before its commit leaves no new files. Destinations:
 *   - missing path or regular file: replaced atomically (temporary file, fsync, rename, fsync of
 *     the folder). An existing file keeps its permission bits; new files are created 0600.
 *   - symbolic link to an existing regular file: followed deliberately; the target is replaced
 *     atomically next to itself and the link stays a link. A dangling link is refused.
 *   - character device or FIFO (/dev/null, /dev/stdout, a pipe from >(cmd)): written directly,
 *     in place, never replaced. A FIFO without a reader is refused instead of blocking.
 *   - folder, block device, socket: refused with a message naming what it is.
 * Temporary files are named DEST.tmpXXXXXX. Where the kernel allows (Linux O_TMPFILE) they have
 * no name until the commit, so a process killed while writing leaves nothing behind (the first
 * 64 files of a set; later ones are named at once, to bound the open descriptors).
 *
 * Locks: mc_file_lock takes an exclusive flock(2) lock on PATH.lock (created 0600 and left in
 * place), waiting up to a bound; `flock PATH.lock CMD` from util-linux takes the same lock. A
 * waiter wakes when a descriptor of the lock file is closed (inotify), else polls every <= 50 ms. */
#ifndef MEMCRYPT_FILEIO_H
#define MEMCRYPT_FILEIO_H

#include <memcrypt/api.h>

#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

MC_BEGIN_DECLS

/* Read a whole regular file into a fresh malloc'd buffer (NUL-terminated one byte past *len, so
 * text parsers may use it as a string). Larger than max_len -> MC_E_RANGE before reading;
 * not a regular file -> MC_E_IO naming what it is. The caller frees *buf. */
MC_API mc_status mc_file_read(const char *path, size_t max_len, uint8_t **buf, size_t *len, struct mc_error *err);
/* As mc_file_read, and also a pipe/FIFO (read until EOF, at most max_len bytes; MC_E_IO when no
 * byte or EOF arrives for timeout_ms) or /dev/null (empty). */
MC_API mc_status mc_file_read_stream(const char *path, size_t max_len, unsigned timeout_ms, uint8_t **buf, size_t *len,
                              struct mc_error *err);

/* An output set: files written together or not at all (see above). */
struct mc_outset;
MC_API mc_status mc_outset_create(struct mc_outset **out, struct mc_error *err);
/* Declare an output folder. When it exists (or is a link to a folder) files go straight into it.
 * Missing folders are made as mkdir -p would, but out of sight: the highest missing one is staged
 * as .NAME.tmpXXXXXX beside it (the ones below inside it), each created with mode (less the
 * umask), and renamed into place at the commit; without a commit nothing remains. */
MC_API mc_status mc_outset_dir(struct mc_outset *o, const char *dir, unsigned mode, struct mc_error *err);
/* Write one file of the set now (to its temporary file). The same path twice is an error. */
MC_API mc_status mc_outset_add(struct mc_outset *o, const char *path, const uint8_t *buf, size_t len, struct mc_error *err);
/* The same, path = dir "/" name. */
MC_API mc_status mc_outset_add_in(struct mc_outset *o, const char *dir, const char *name, const uint8_t *buf, size_t len,
                           struct mc_error *err);
/* Put every file in place: direct writes (devices, FIFOs) first, then the renames. On failure
 * nothing is put in place, except when a rename fails after others succeeded (the destinations
 * are checked again just before, so this takes a concurrent change of the folder). */
MC_API mc_status mc_outset_commit(struct mc_outset *o, struct mc_error *err);
/* Free; an uncommitted set's temporary files and folders are removed. NULL is fine. */
MC_API void mc_outset_destroy(struct mc_outset *o);

/* A set of one file. */
MC_API mc_status mc_file_write_atomic(const char *path, const uint8_t *buf, size_t len, struct mc_error *err);

/* The path to read and replace for path: the target (canonical) of a symbolic link to an
 * existing file, path itself otherwise; a dangling link is an error. The caller frees *out. */
MC_API mc_status mc_file_resolve(const char *path, char **out, struct mc_error *err);

/* Exclusive lock on path ".lock": wait up to wait_ms (0 = try once); held -> MC_E_BUSY naming
 * the holder's pid. *fd receives the lock; mc_file_unlock(fd) releases it (also on exit). */
MC_API mc_status mc_file_lock(const char *path, unsigned wait_ms, int *fd, struct mc_error *err);
MC_API void mc_file_unlock(int fd);
/* Remove regular files named path ".tmp" + 6 letters/digits (temporary files of a process that
 * died while writing path). Call it holding path's lock. Returns how many were removed. */
MC_API unsigned mc_file_remove_stale_temps(const char *path);

MC_END_DECLS

#endif
