/* memcrypt — /dev/sev-guest as Linux's sev-guest driver presents it inside an SEV-SNP guest, backed
 * by a saved SNP guest (memcrypt/migrate.h kind 3) on the emulated chip that saved it.
 *
 * A struct mc_sevguest is the guest kernel's side of the device: a board of the chip (its state
 * file) with the guest restored on it, and the guest's message driver (memcrypt/snp_guest.h:
 * VMPCKn from the secrets page, the sequence numbers in its OS area, GHCB exits, the firmware's
 * SNP_GUEST_REQUEST through the hypervisor). mc_sevguest_ioctl is the driver's ioctl handler
 * (drivers/virt/coco/sev-guest/sev-guest.c of Debian 12's Linux 6.1, whose linux/sev-guest.h has
 * the exitinfo2 union): SNP_GET_REPORT, SNP_GET_DERIVED_KEY, SNP_GET_EXT_REPORT with the driver's
 * argument checks, errno values, exitinfo2 and sequence-number rules; docs/kernel-interfaces.md
 * has the table. The extended report's certificates are the host's: the chip's VCEK (at the
 * reported TCB), ASK and ARK in the GUID table of the GHCB specification.
 *
 * One guest, many processes: every call locks the guest file (GUEST.lock, then the chip's state
 * file), loads the guest again when another process changed the file since this one last wrote
 * it, runs, and writes the guest back (a checkpoint: its secrets page with the sequence numbers,
 * the firmware's context with its counters) before unlocking, so concurrent processes never lose
 * an update and never read a torn file. Not thread-safe by itself (the driver's snp_cmd_mutex is
 * the caller's to hold).
 */
#ifndef MEMCRYPT_SEVGUEST_H
#define MEMCRYPT_SEVGUEST_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/sevdev.h>

MC_BEGIN_DECLS

struct mc_sevguest_config {
    const char *guest_path; /* the saved SNP guest; required */
    const char *state_path; /* the state file of the chip that saved it; required */
    unsigned wait_ms;       /* how long a call waits for another process's locks; 0 = 30 s */
    const uint8_t *seed;    /* optional: the board's machine seed (tests) */
    size_t seed_len;
    int vmpck;              /* the VMPCK the driver uses (Linux's vmpck_id parameter): 0..3 */
};

struct mc_sevguest;

/* Check the guest file (mc_guest_file_info: an SNP guest) and build the board of its platform
 * with SNP up (the guest itself is restored at the first call). MC_E_FORMAT for a file that is not
 * a saved SNP guest, MC_E_IO when it cannot be read, MC_E_INVAL for a bad configuration. */
MC_API mc_status mc_sevguest_create(const struct mc_sevguest_config *cfg, struct mc_sevguest **out, struct mc_error *err);
MC_API void mc_sevguest_destroy(struct mc_sevguest *d); /* NULL is fine */

/* ioctl(fd, request, arg) on the device: 0 or a negative errno as the driver returns them. Failures
 * the real driver cannot have (the guest or state file locked longer than wait_ms: -EBUSY;
 * unreadable, altered or from another chip: -EIO) put a sentence in err (may be NULL) and leave
 * the caller's memory untouched. */
MC_API long mc_sevguest_ioctl(struct mc_sevguest *d, unsigned long request, uint64_t arg, const struct mc_sevdev_user *u,
                              struct mc_error *err);

/* configfs-tsm's SEV-SNP provider (Linux 6.7 drivers/virt/coco/sev-guest, sev_report_new): the
 * extended request (message version 1, VMPL privlevel, a 16 KiB certificate buffer) for the 64
 * bytes of report_data; *report (malloc'd) the report as MSG_REPORT_RSP sized it, *aux (malloc'd,
 * NULL/0 when the host gave none) the certificate table up to its last entry's end. 0 or a
 * negative errno as the provider returns them: the ioctl path's errors, -EINVAL for STATUS
 * INVALID_PARAM or INVALID_KEY, -ENXIO for another STATUS, -ENOTTY with a wiped VMPCK. */
MC_API int mc_sevguest_tsm_report(struct mc_sevguest *d, const uint8_t report_data[64], unsigned privlevel,
                                  uint8_t **report, size_t *report_len, uint8_t **aux, size_t *aux_len,
                                  struct mc_error *err);

MC_END_DECLS

#endif
