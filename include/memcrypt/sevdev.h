/* memcrypt — /dev/sev as the Linux ccp driver presents it, backed by an emulated chip.
 *
 * A struct mc_sevdev is the driver side of the host's SEV device node: one board (its firmware
 * reads and writes the chip's state file) and what the driver remembers about the firmware (its
 * API version, read once as the driver does at probe). mc_sevdev_ioctl is the driver's ioctl
 * handler: it decodes SEV_ISSUE_CMD from the caller's memory, applies the driver's rules
 * (permissions, length queries, blob limits, the implicit INIT and SHUTDOWN around commands that
 * need INIT, -EIO with the firmware status in `error`), issues the firmware commands through the
 * board's mailbox and writes the results back to the caller's memory. The caller's memory is
 * reached only through struct mc_sevdev_user, so a bad pointer is -EFAULT, never a crash.
 *
 * The ioctl numbers and structures are Linux's (linux/psp-sev.h from the system's
 * linux-libc-dev); docs/kernel-interfaces.md lists every command, the kernel behaviour it
 * follows, and how the emulation differs.
 *
 * The platform rests in UNINIT between ioctls, as on a host whose kernel initialises the
 * firmware on demand (the driver's implicit INIT/SHUTDOWN): each process that opens the device
 * has its own board, and what outlives a command (the identity, the owner, a reset) is in the
 * state file, which every ioctl locks, re-reads and (when the command changed it) rewrites.
 *
 * Not thread-safe by itself: one call at a time per mc_sevdev (the driver's command mutex is the
 * caller's to hold).
 */
#ifndef MEMCRYPT_SEVDEV_H
#define MEMCRYPT_SEVDEV_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

MC_BEGIN_DECLS

struct mc_sevdev_config {
    const char *platform;   /* CPU profile with SEV (e.g. "milan"); required */
    const char *state_path; /* the chip's state file; NULL: a chip that lives in this process only */
    unsigned state_wait_ms; /* how long an ioctl waits for another process's lock; 0 = 30 s */
    const uint8_t *seed;    /* optional: deterministic chip (tests); NULL = OS randomness */
    size_t seed_len;
};

/* The caller's address space, as copy_from_user/copy_to_user see it: each returns 0 when all
 * len bytes were copied, non-zero when any byte could not be (-> EFAULT). */
struct mc_sevdev_user {
    void *ctx;
    int (*read)(void *ctx, uint64_t uaddr, void *buf, size_t len);
    int (*write)(void *ctx, uint64_t uaddr, const void *buf, size_t len);
};

struct mc_sevdev;

/* Build the board and read the firmware's API version (PLATFORM_STATUS) as the driver's probe
 * does; the state file's lock is released before this returns. MC_E_NOTFOUND for an unknown
 * platform, MC_E_UNSUPPORTED for one without SEV (no device node), MC_E_FORMAT/MC_E_IO for a
 * state file that cannot be used, MC_E_BUSY when its lock stays held by another process. */
MC_API mc_status mc_sevdev_create(const struct mc_sevdev_config *cfg, struct mc_sevdev **out, struct mc_error *err);
MC_API void mc_sevdev_destroy(struct mc_sevdev *d); /* NULL is fine */

/* ioctl(fd, request, arg) on an open file of the device: `writable` is whether the file was
 * opened with write access (FMODE_WRITE). Returns 0 or a negative errno, as the driver would
 * (-EINVAL for another request or an unknown command, -EFAULT for memory that cannot be read or
 * written, -EPERM, -EIO with the firmware status in the caller's `error`, -ENOTSUPP (524) ...).
 * Failures the real driver cannot have (the state file locked by another process for longer
 * than state_wait_ms: -EBUSY; unreadable or corrupted by someone else: -EIO) leave the caller's
 * structure untouched and put a sentence in err (may be NULL). */
MC_API long mc_sevdev_ioctl(struct mc_sevdev *d, bool writable, unsigned long request, uint64_t arg,
                     const struct mc_sevdev_user *u, struct mc_error *err);

/* The linux kernel's ENOTSUPP (not in userspace errno.h; strerror says "Unknown error 524"). */
#define MC_SEVDEV_ENOTSUPP 524

MC_END_DECLS

#endif
