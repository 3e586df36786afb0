/* /dev/sev: the Linux ccp driver's SEV_ISSUE_CMD handler over an emulated chip.
 *
 * Every rule below is a fact of drivers/crypto/ccp/sev-dev.c (Linux 6.11 for the ioctl layout,
 * with the implicit INIT/SHUTDOWN around commands that the driver gained later); the structures
 * and numbers come from the system's <linux/psp-sev.h>. docs/kernel-interfaces.md has the table.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ioctl.h>
#include <linux/psp-sev.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/machine.h>
#include <memcrypt/psp.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/sevdev.h>
#include <memcrypt/rmp.h>
#include <memcrypt/snp_api.h>

#include "interpose/uapi/psp-sev-snp-6.11.h"

/* The kernel's ABI, pinned: if the system header ever disagreed, the build stops here. */
_Static_assert(sizeof(struct sev_issue_cmd) == 16, "sev_issue_cmd");
_Static_assert(offsetof(struct sev_issue_cmd, data) == 4 && offsetof(struct sev_issue_cmd, error) == 12,
               "sev_issue_cmd fields");
_Static_assert(sizeof(struct sev_user_data_status) == 12, "sev_user_data_status");
_Static_assert(sizeof(struct sev_user_data_pek_csr) == 12, "sev_user_data_pek_csr");
_Static_assert(sizeof(struct sev_user_data_pek_cert_import) == 24, "sev_user_data_pek_cert_import");
_Static_assert(sizeof(struct sev_user_data_pdh_cert_export) == 24, "sev_user_data_pdh_cert_export");
_Static_assert(sizeof(struct sev_user_data_get_id) == 128, "sev_user_data_get_id");
_Static_assert(sizeof(struct sev_user_data_get_id2) == 12, "sev_user_data_get_id2");
_Static_assert(sizeof(struct sev_user_data_status) == sizeof(struct mc_sev_platform_status),
               "PLATFORM_STATUS: the driver copies the firmware's buffer as is");

/* The SNP host commands (Linux 6.11) come from the project's copy of their uapi when the system's
 * header is older: interpose/uapi/psp-sev-snp-6.11.h. */
#define CMD_SEV_MAX MC_LINUX_SEV_MAX
_Static_assert(sizeof(struct sev_user_data_snp_status) == sizeof(struct mc_snp_platform_status),
               "SNP_PLATFORM_STATUS: the driver copies the firmware's page as is");
_Static_assert(sizeof(struct sev_user_data_snp_config) == sizeof(struct mc_snp_config),
               "SNP_SET_CONFIG: the driver hands the caller's structure to SNP_CONFIG");
_Static_assert(sizeof(struct sev_user_data_snp_vlek_load) == sizeof(struct mc_snp_vlek_load),
               "SNP_VLEK_LOAD: the driver hands the caller's structure to the firmware");

#define FW_BLOB_MAX 0x4000u        /* SEV_FW_BLOB_MAX_SIZE */
#define KMALLOC_MAX (4u << 20)     /* kzalloc's largest buffer (1 << (PAGE_SHIFT + MAX_PAGE_ORDER)) */
#define NO_FW_CALL 0xFFFFFFFFu     /* SEV_RET_NO_FW_CALL as the u32 `error` */

/* Where the driver's buffers sit in the board's DRAM (host memory, C=0). */
#define DRAM_SIZE (16u << 20)
#define BLOB_A 0x100000ull /* first output/input blob (GET_ID2's may be 4 MiB) */
#define BLOB_B 0x108000ull /* second blob (cert chain, OCA) */
#define TMR_PA 0x800000ull /* the SEV-ES TMR the driver hands to INIT (1 MiB, 2 MiB aligned) */
#define SNP_PAGE_PA 0x110000ull /* the page the driver allocates for SNP_PLATFORM_STATUS */
#define ZERO_MAX 0x10000u  /* bytes of a blob cleared before a command (kzalloc) */

struct mc_sevdev {
    struct mc_board *b;
    struct mc_machine *m;
    unsigned wait_ms;
    bool has_state;
    bool es;                      /* INIT with the SEV-ES flag and a TMR */
    uint8_t api_major, api_minor; /* read at probe */
    bool initialised;             /* the driver's sev->state == INIT */
    bool snp;                     /* the CPU has SEV-SNP and the host brought it up (SNP_EN) */
    bool rmp_ready;               /* the SNP firmware initialised the RMP (SEV's INIT may run) */
    uint8_t blob_a[FW_BLOB_MAX], blob_b[FW_BLOB_MAX]; /* the driver's kernel copies of blobs */
};

/* ---- the firmware, through the board's mailbox ---------------------------------------------- */

/* __sev_do_cmd_locked: 0, or -EIO with the firmware status in *error (error may be NULL). */
static int fw_cmd(struct mc_sevdev *d, uint32_t cmd, void *buf, size_t len, uint32_t *error)
{
    uint32_t st = 0xFFFF;
    struct mc_error e;
    mc_board_fw(d->b, cmd, buf, len, &st, &e);
    if (error)
        *error = st;
    return st ? -EIO : 0;
}

static int write_host(struct mc_sevdev *d, uint64_t pa, const void *buf, size_t len)
{
    struct mc_fault f;
    struct mc_error e;
    return len && mc_machine_phys_write(d->m, pa, buf, len, &f, &e) ? -EIO : 0;
}

static int put_blob(struct mc_sevdev *d, uint64_t pa, const void *buf, size_t len)
{
    return write_host(d, pa, buf, len);
}

static int get_blob(struct mc_sevdev *d, uint64_t pa, void *buf, size_t len)
{
    struct mc_fault f;
    struct mc_error e;
    return len && mc_machine_phys_read(d->m, pa, buf, len, &f, &e) ? -EIO : 0;
}

/* kzalloc: the blob starts as zeros. */
static int zero_blob(struct mc_sevdev *d, uint64_t pa, size_t len)
{
    static const uint8_t zeros[4096];
    size_t n = len < ZERO_MAX ? len : ZERO_MAX;
    for (size_t off = 0; off < n; off += sizeof zeros) {
        size_t k = n - off < sizeof zeros ? n - off : sizeof zeros;
        if (write_host(d, pa + off, zeros, k))
            return -EIO;
    }
    return 0;
}

/* ---- the firmware's states: the driver's implicit INIT and SHUTDOWN ----------------------- */

/* snp_move_to_init_state / __sev_snp_init_locked: SNP_INIT_EX with INIT_RMP (the host has no
 * hypervisor-fixed pages to list), WBINVD on every CPU, SNP_DF_FLUSH. On a CPU without SNP the
 * kernel's answer is -ENODEV; any failure reports INVALID_PLATFORM_STATE. */
static int snp_move_to_init(struct mc_sevdev *d, uint32_t *error, bool *shutdown)
{
    if (!d->snp) {
        *error = MC_FW_INVALID_PLATFORM_STATE;
        return -ENODEV;
    }
    uint8_t ie[sizeof(struct mc_snp_init_ex)] = {0};
    mc_put_le32(ie + offsetof(struct mc_snp_init_ex, flags), MC_SNP_INIT_EX_INIT_RMP);
    uint32_t st;
    struct mc_error e;
    int rc = fw_cmd(d, MC_SEV_CMD_SNP_INIT_EX, ie, sizeof ie, &st);
    if (!rc)
        rc = mc_board_wbinvd(d->b, &e) ? -EIO : fw_cmd(d, MC_SEV_CMD_SNP_DF_FLUSH, NULL, 0, &st);
    if (rc) {
        *error = MC_FW_INVALID_PLATFORM_STATE;
        return rc;
    }
    *shutdown = true;
    return 0;
}

/* __sev_snp_shutdown_locked: WBINVD on every CPU, SNP_SHUTDOWN_EX; its errors are the driver's
 * log lines, not the caller's. Linux also asks for IOMMU_SNP_SHUTDOWN; this model leaves the IOMMU
 * in SNP mode so the RMP stays initialised for SEV's INIT (see move_to_init). */
static void snp_shutdown(struct mc_sevdev *d)
{
    struct mc_error e;
    uint8_t sx[sizeof(struct mc_snp_shutdown_ex)] = {0};
    mc_put_le32(sx + offsetof(struct mc_snp_shutdown_ex, length), sizeof sx);
    (void)mc_board_wbinvd(d->b, &e);
    if (fw_cmd(d, MC_SEV_CMD_SNP_SHUTDOWN_EX, sx, sizeof sx, NULL) == 0)
        d->rmp_ready = true;
}

/* One page's RMP entry through the host's RMPUPDATE (rmp_make_private(pfn, 0, 4K, 0, true) /
 * rmp_make_shared): 0 or -EFAULT as the driver maps a failed RMPUPDATE. */
static int rmp_set(struct mc_sevdev *d, uint64_t pa, bool firmware)
{
    struct mc_rmp_state s = {.assigned = firmware, .immutable = firmware};
    uint32_t eax = 0;
    struct mc_fault f;
    struct mc_error e;
    if (mc_rmp_rmpupdate(mc_board_rmp(d->b), pa, &s, &eax, &f, &e) != MC_OK || eax != 0)
        return -EFAULT;
    return 0;
}

/* snp_reclaim_pages: SNP_PAGE_RECLAIM (a Firmware or Reclaim page back to hypervisor-owned), then
 * rmp_make_shared. A page that cannot be reclaimed is leaked by the driver: -EFAULT. */
static int snp_reclaim(struct mc_sevdev *d, uint64_t pa)
{
    uint8_t r[sizeof(struct mc_snp_paddr)] = {0};
    mc_put_le64(r, pa);
    if (fw_cmd(d, MC_SEV_CMD_SNP_PAGE_RECLAIM, r, sizeof r, NULL))
        return -EFAULT;
    return rmp_set(d, pa, false);
}

/* The driver's implicit INIT (sev_move_to_init_state): INIT (SEV-ES flag and TMR when the part
 * has SEV-ES), WBINVD on every CPU, DF_FLUSH. A failure reports INVALID_PLATFORM_STATE.
 *
 * On an SNP host SEV's INIT needs an RMP the SNP firmware initialised (INVALID_PLATFORM_STATE
 * otherwise) and a 2 MiB TMR. Linux initialises SNP first and keeps it up around the legacy
 * command, passing every legacy buffer through pages it makes Firmware-owned. This model keeps
 * the SNP platform at rest instead: once per process, before the first SEV INIT, SNP_INIT_EX
 * initialises the RMP and SNP_SHUTDOWN_EX (without IOMMU_SNP_SHUTDOWN) leaves it initialised, so
 * the legacy commands run as on a host without SNP. What a caller sees (statuses, lengths, blobs)
 * is the same; docs/kernel-interfaces.md lists the difference. */
static int move_to_init(struct mc_sevdev *d, uint32_t *error, bool *shutdown)
{
    if (d->snp && !d->rmp_ready) {
        bool snp_up = false;
        int rc = snp_move_to_init(d, error, &snp_up);
        if (rc)
            return rc;
        snp_shutdown(d);
        d->rmp_ready = true;
    }
    uint8_t in[sizeof(struct mc_sev_init)] = {0};
    if (d->es) {
        mc_put_le32(in + offsetof(struct mc_sev_init, flags), MC_SEV_INIT_FLAG_ES);
        mc_put_le64(in + offsetof(struct mc_sev_init, tmr_paddr), TMR_PA);
        mc_put_le32(in + offsetof(struct mc_sev_init, tmr_len), d->snp ? 2 * MC_SEV_TMR_LEN : MC_SEV_TMR_LEN);
    }
    uint32_t st;
    struct mc_error e;
    int rc = fw_cmd(d, MC_SEV_CMD_INIT, in, sizeof in, &st);
    if (!rc) {
        d->initialised = true;
        rc = mc_board_df_flush(d->b, &st, &e) ? -EIO : 0;
    }
    if (rc) {
        *error = MC_FW_INVALID_PLATFORM_STATE;
        return rc;
    }
    *shutdown = true;
    return 0;
}

/* __sev_firmware_shutdown: SHUTDOWN when not UNINIT, errors ignored. */
static void shutdown_fw(struct mc_sevdev *d)
{
    if (d->initialised && fw_cmd(d, MC_SEV_CMD_SHUTDOWN, NULL, 0, NULL) == 0)
        d->initialised = false;
}

/* ---- the caller's memory ------------------------------------------------------------------ */

static int from_user(const struct mc_sevdev_user *u, uint64_t a, void *buf, size_t len)
{
    return u->read(u->ctx, a, buf, len) ? -EFAULT : 0;
}

static int to_user(const struct mc_sevdev_user *u, uint64_t a, const void *buf, size_t len)
{
    return u->write(u->ctx, a, buf, len) ? -EFAULT : 0;
}

/* psp_copy_user_blob: -EINVAL for no address, no length or more than SEV_FW_BLOB_MAX_SIZE. */
static int copy_user_blob(const struct mc_sevdev_user *u, uint64_t a, uint32_t len, uint8_t *out)
{
    if (!a || !len || len > FW_BLOB_MAX)
        return -EINVAL;
    return from_user(u, a, out, len);
}

/* ---- the commands ------------------------------------------------------------------------- */

struct issue {
    uint32_t cmd;
    uint64_t data;
    uint32_t error;
};

static int do_platform_status(struct mc_sevdev *d, struct issue *in, const struct mc_sevdev_user *u)
{
    uint8_t st[sizeof(struct sev_user_data_status)] = {0};
    int rc = fw_cmd(d, MC_SEV_CMD_PLATFORM_STATUS, st, sizeof st, &in->error);
    if (rc)
        return rc;
    return to_user(u, in->data, st, sizeof st);
}

static int do_reset(struct mc_sevdev *d, struct issue *in, bool writable)
{
    if (!writable)
        return -EPERM;
    uint8_t st[sizeof(struct mc_sev_platform_status)] = {0};
    int rc = fw_cmd(d, MC_SEV_CMD_PLATFORM_STATUS, st, sizeof st, &in->error);
    if (rc)
        return rc;
    uint8_t state = st[offsetof(struct mc_sev_platform_status, state)];
    if (state == MC_SEV_PSTATE_WORKING)
        return -EBUSY;
    if (state == MC_SEV_PSTATE_INIT) {
        rc = fw_cmd(d, MC_SEV_CMD_SHUTDOWN, NULL, 0, &in->error);
        if (rc)
            return rc;
        d->initialised = false;
    }
    return fw_cmd(d, MC_SEV_CMD_PLATFORM_RESET, NULL, 0, &in->error);
}

static int do_pek_pdh_gen(struct mc_sevdev *d, uint32_t cmd, struct issue *in, bool writable)
{
    if (!writable)
        return -EPERM;
    bool shut = false;
    int rc = 0;
    if (!d->initialised)
        rc = move_to_init(d, &in->error, &shut);
    if (!rc)
        rc = fw_cmd(d, cmd, NULL, 0, &in->error);
    if (shut)
        shutdown_fw(d);
    return rc;
}

static int do_pek_csr(struct mc_sevdev *d, struct issue *in, bool writable, const struct mc_sevdev_user *u)
{
    if (!writable)
        return -EPERM;
    uint8_t ui[sizeof(struct sev_user_data_pek_csr)];
    if (from_user(u, in->data, ui, sizeof ui))
        return -EFAULT;
    uint64_t uaddr = mc_le64(ui + offsetof(struct sev_user_data_pek_csr, address));
    uint32_t ulen = mc_le32(ui + offsetof(struct sev_user_data_pek_csr, length));
    uint8_t fb[sizeof(struct mc_sev_addr_len)] = {0};
    bool blob = uaddr && ulen; /* else: the caller asks for the CSR's length */
    if (blob) {
        if (ulen > FW_BLOB_MAX)
            return -EFAULT;
        if (zero_blob(d, BLOB_A, ulen))
            return -EIO;
        mc_put_le64(fb + offsetof(struct mc_sev_addr_len, paddr), BLOB_A);
        mc_put_le32(fb + offsetof(struct mc_sev_addr_len, len), ulen);
    }
    bool shut = false;
    int rc = 0;
    if (!d->initialised)
        rc = move_to_init(d, &in->error, &shut);
    if (!rc) {
        rc = fw_cmd(d, MC_SEV_CMD_PEK_CSR, fb, sizeof fb, &in->error);
        /* The firmware's length (what it wrote, or what it needs) goes back to the caller. */
        uint32_t flen = mc_le32(fb + offsetof(struct mc_sev_addr_len, len));
        mc_put_le32(ui + offsetof(struct sev_user_data_pek_csr, length), flen);
        if (to_user(u, in->data, ui, sizeof ui))
            rc = -EFAULT;
        else if (!rc && blob) {
            uint8_t *csr = d->blob_a;
            uint32_t n = flen < ulen ? flen : ulen;
            if (get_blob(d, BLOB_A, csr, n))
                rc = -EIO;
            else if (to_user(u, uaddr, csr, n))
                rc = -EFAULT;
        }
    }
    if (shut)
        shutdown_fw(d);
    return rc;
}

static int do_pek_import(struct mc_sevdev *d, struct issue *in, bool writable, const struct mc_sevdev_user *u)
{
    if (!writable)
        return -EPERM;
    uint8_t ui[sizeof(struct sev_user_data_pek_cert_import)];
    if (from_user(u, in->data, ui, sizeof ui))
        return -EFAULT;
    uint64_t pa = mc_le64(ui + offsetof(struct sev_user_data_pek_cert_import, pek_cert_address));
    uint32_t pl = mc_le32(ui + offsetof(struct sev_user_data_pek_cert_import, pek_cert_len));
    uint64_t oa = mc_le64(ui + offsetof(struct sev_user_data_pek_cert_import, oca_cert_address));
    uint32_t ol = mc_le32(ui + offsetof(struct sev_user_data_pek_cert_import, oca_cert_len));
    uint8_t *pek = d->blob_a, *oca = d->blob_b;
    int rc = copy_user_blob(u, pa, pl, pek);
    if (!rc)
        rc = copy_user_blob(u, oa, ol, oca);
    if (rc)
        return rc;
    uint8_t fb[sizeof(struct mc_sev_pek_cert_import)] = {0};
    mc_put_le64(fb + offsetof(struct mc_sev_pek_cert_import, pek_paddr), BLOB_A);
    mc_put_le32(fb + offsetof(struct mc_sev_pek_cert_import, pek_len), pl);
    mc_put_le64(fb + offsetof(struct mc_sev_pek_cert_import, oca_paddr), BLOB_B);
    mc_put_le32(fb + offsetof(struct mc_sev_pek_cert_import, oca_len), ol);
    if (put_blob(d, BLOB_A, pek, pl) || put_blob(d, BLOB_B, oca, ol))
        return -EIO;
    bool shut = false;
    if (!d->initialised)
        rc = move_to_init(d, &in->error, &shut);
    if (!rc)
        rc = fw_cmd(d, MC_SEV_CMD_PEK_CERT_IMPORT, fb, sizeof fb, &in->error);
    if (shut)
        shutdown_fw(d);
    return rc;
}

static int do_pdh_export(struct mc_sevdev *d, struct issue *in, bool writable, const struct mc_sevdev_user *u)
{
    uint8_t ui[sizeof(struct sev_user_data_pdh_cert_export)];
    if (from_user(u, in->data, ui, sizeof ui))
        return -EFAULT;
    uint64_t pa = mc_le64(ui + offsetof(struct sev_user_data_pdh_cert_export, pdh_cert_address));
    uint32_t pl = mc_le32(ui + offsetof(struct sev_user_data_pdh_cert_export, pdh_cert_len));
    uint64_t ca = mc_le64(ui + offsetof(struct sev_user_data_pdh_cert_export, cert_chain_address));
    uint32_t cl = mc_le32(ui + offsetof(struct sev_user_data_pdh_cert_export, cert_chain_len));
    uint8_t fb[sizeof(struct mc_sev_pdh_cert_export)] = {0};
    bool blobs = pa && pl && ca; /* else: the caller asks for the lengths */
    if (blobs) {
        if (pl > FW_BLOB_MAX || cl > FW_BLOB_MAX)
            return -EFAULT;
        if (zero_blob(d, BLOB_A, pl) || zero_blob(d, BLOB_B, cl))
            return -EIO;
        mc_put_le64(fb + offsetof(struct mc_sev_pdh_cert_export, pdh_paddr), BLOB_A);
        mc_put_le32(fb + offsetof(struct mc_sev_pdh_cert_export, pdh_len), pl);
        mc_put_le64(fb + offsetof(struct mc_sev_pdh_cert_export, chain_paddr), BLOB_B);
        mc_put_le32(fb + offsetof(struct mc_sev_pdh_cert_export, chain_len), cl);
    }
    bool shut = false;
    int rc = 0;
    if (!d->initialised) {
        if (!writable)
            return -EPERM;
        rc = move_to_init(d, &in->error, &shut);
    }
    if (!rc) {
        rc = fw_cmd(d, MC_SEV_CMD_PDH_CERT_EXPORT, fb, sizeof fb, &in->error);
        uint32_t fpl = mc_le32(fb + offsetof(struct mc_sev_pdh_cert_export, pdh_len));
        uint32_t fcl = mc_le32(fb + offsetof(struct mc_sev_pdh_cert_export, chain_len));
        mc_put_le32(ui + offsetof(struct sev_user_data_pdh_cert_export, pdh_cert_len), fpl);
        mc_put_le32(ui + offsetof(struct sev_user_data_pdh_cert_export, cert_chain_len), fcl);
        if (to_user(u, in->data, ui, sizeof ui)) {
            rc = -EFAULT;
        } else if (!rc && blobs) {
            uint8_t *out = d->blob_a;
            uint32_t n = fpl < pl ? fpl : pl;
            if (get_blob(d, BLOB_A, out, n))
                rc = -EIO;
            else if (to_user(u, pa, out, n))
                rc = -EFAULT;
            n = fcl < cl ? fcl : cl;
            if (!rc && get_blob(d, BLOB_B, out, n))
                rc = -EIO;
            else if (!rc && to_user(u, ca, out, n))
                rc = -EFAULT;
        }
    }
    if (shut)
        shutdown_fw(d);
    return rc;
}

static bool api_at_least(const struct mc_sevdev *d, unsigned maj, unsigned min)
{
    return d->api_major > maj || (d->api_major == maj && d->api_minor >= min);
}

static int do_get_id(struct mc_sevdev *d, struct issue *in, const struct mc_sevdev_user *u)
{
    if (!api_at_least(d, 0, 16))
        return -MC_SEVDEV_ENOTSUPP;
    const uint32_t user_size = sizeof(struct sev_user_data_get_id);
    uint8_t fb[sizeof(struct mc_sev_addr_len)] = {0};
    mc_put_le64(fb + offsetof(struct mc_sev_addr_len, paddr), BLOB_A);
    mc_put_le32(fb + offsetof(struct mc_sev_addr_len, len), user_size);
    if (zero_blob(d, BLOB_A, user_size))
        return -EIO;
    int rc = fw_cmd(d, MC_SEV_CMD_GET_ID, fb, sizeof fb, &in->error);
    if (rc)
        return rc;
    uint8_t id[sizeof(struct sev_user_data_get_id)];
    uint32_t n = mc_le32(fb + offsetof(struct mc_sev_addr_len, len));
    if (n > user_size)
        n = user_size;
    if (get_blob(d, BLOB_A, id, n))
        return -EIO;
    return to_user(u, in->data, id, n);
}

static int do_get_id2(struct mc_sevdev *d, struct issue *in, const struct mc_sevdev_user *u)
{
    if (!api_at_least(d, 0, 16))
        return -MC_SEVDEV_ENOTSUPP;
    uint8_t ui[sizeof(struct sev_user_data_get_id2)];
    if (from_user(u, in->data, ui, sizeof ui))
        return -EFAULT;
    uint64_t uaddr = mc_le64(ui + offsetof(struct sev_user_data_get_id2, address));
    uint32_t ulen = mc_le32(ui + offsetof(struct sev_user_data_get_id2, length));
    uint8_t fb[sizeof(struct mc_sev_addr_len)] = {0};
    bool blob = uaddr && ulen;
    if (blob) {
        if (ulen > KMALLOC_MAX)
            return -ENOMEM;
        if (zero_blob(d, BLOB_A, ulen))
            return -EIO;
        mc_put_le64(fb + offsetof(struct mc_sev_addr_len, paddr), BLOB_A);
        mc_put_le32(fb + offsetof(struct mc_sev_addr_len, len), ulen);
    }
    int rc = fw_cmd(d, MC_SEV_CMD_GET_ID, fb, sizeof fb, &in->error);
    uint32_t flen = mc_le32(fb + offsetof(struct mc_sev_addr_len, len));
    mc_put_le32(ui + offsetof(struct sev_user_data_get_id2, length), flen);
    if (to_user(u, in->data, ui, sizeof ui))
        return -EFAULT;
    if (!rc && blob) {
        uint8_t id[256];
        uint32_t n = flen < ulen ? flen : ulen;
        if (n > sizeof id)
            n = sizeof id; /* the firmware writes 64 bytes per socket */
        if (get_blob(d, BLOB_A, id, n))
            return -EIO;
        return to_user(u, uaddr, id, n);
    }
    return rc;
}

/* ---- the SNP host commands ------------------------------------------------------------------ */

/* sev_ioctl_do_snp_platform_status: the status page made Firmware-owned for the command, reclaimed
 * afterwards, copied out on success. */
static int do_snp_platform_status(struct mc_sevdev *d, struct issue *in, const struct mc_sevdev_user *u)
{
    if (!in->data)
        return -EINVAL;
    bool shutdown = false;
    int rc = snp_move_to_init(d, &in->error, &shutdown);
    if (rc)
        return rc;
    uint8_t page[sizeof(struct sev_user_data_snp_status)] = {0};
    if (zero_blob(d, SNP_PAGE_PA, 4096) || rmp_set(d, SNP_PAGE_PA, true)) {
        rc = -EFAULT;
        goto out;
    }
    uint8_t a[sizeof(struct mc_snp_paddr)] = {0};
    mc_put_le64(a, SNP_PAGE_PA);
    rc = fw_cmd(d, MC_SEV_CMD_SNP_PLATFORM_STATUS, a, sizeof a, &in->error);
    if (snp_reclaim(d, SNP_PAGE_PA)) {
        rc = -EFAULT;
        goto out;
    }
    if (!rc)
        rc = get_blob(d, SNP_PAGE_PA, page, sizeof page) ? -EIO : to_user(u, in->data, page, sizeof page);
out:
    if (shutdown)
        snp_shutdown(d);
    return rc;
}

static int do_snp_commit(struct mc_sevdev *d, struct issue *in)
{
    bool shutdown = false;
    int rc = snp_move_to_init(d, &in->error, &shutdown);
    if (rc)
        return rc;
    uint8_t c[sizeof(struct mc_snp_commit)] = {0};
    mc_put_le32(c, sizeof c);
    rc = fw_cmd(d, MC_SEV_CMD_SNP_COMMIT, c, sizeof c, &in->error);
    snp_shutdown(d);
    return rc;
}

static int do_snp_set_config(struct mc_sevdev *d, struct issue *in, bool writable, const struct mc_sevdev_user *u)
{
    if (!in->data)
        return -EINVAL;
    if (!writable)
        return -EPERM;
    uint8_t cfg[sizeof(struct sev_user_data_snp_config)];
    if (from_user(u, in->data, cfg, sizeof cfg))
        return -EFAULT;
    bool shutdown = false;
    int rc = snp_move_to_init(d, &in->error, &shutdown);
    if (rc)
        return rc;
    rc = fw_cmd(d, MC_SEV_CMD_SNP_CONFIG, cfg, sizeof cfg, &in->error);
    snp_shutdown(d);
    return rc;
}

/* sev_ioctl_do_snp_vlek_load: the wrapped key copied into a kernel buffer (BLOB_A), its address
 * put into the caller's structure, which goes to the firmware as is. */
static int do_snp_vlek_load(struct mc_sevdev *d, struct issue *in, bool writable, const struct mc_sevdev_user *u)
{
    if (!in->data)
        return -EINVAL;
    if (!writable)
        return -EPERM;
    uint8_t v[sizeof(struct sev_user_data_snp_vlek_load)];
    if (from_user(u, in->data, v, sizeof v))
        return -EFAULT;
    if (mc_le32(v + offsetof(struct mc_snp_vlek_load, length)) != sizeof v ||
        v[offsetof(struct mc_snp_vlek_load, version)] != 0)
        return -EINVAL;
    const size_t wlen = sizeof(struct sev_user_data_snp_wrapped_vlek_hashstick);
    int rc = copy_user_blob(u, mc_le64(v + offsetof(struct mc_snp_vlek_load, wrapped_paddr)), (uint32_t)wlen,
                            d->blob_a);
    if (rc)
        return rc;
    if (put_blob(d, BLOB_A, d->blob_a, wlen))
        return -EIO;
    mc_put_le64(v + offsetof(struct mc_snp_vlek_load, wrapped_paddr), BLOB_A);
    bool shutdown = false;
    rc = snp_move_to_init(d, &in->error, &shutdown);
    if (rc)
        return rc;
    rc = fw_cmd(d, MC_SEV_CMD_SNP_VLEK_LOAD, v, sizeof v, &in->error);
    snp_shutdown(d);
    return rc;
}

long mc_sevdev_ioctl(struct mc_sevdev *d, bool writable, unsigned long request, uint64_t arg,
                     const struct mc_sevdev_user *u, struct mc_error *err)
{
    if (!d || !u || !u->read || !u->write) {
        mc_seterr(err, MC_E_INVAL, "mc_sevdev_ioctl: NULL argument");
        return -EINVAL;
    }
    /* The kernel's ioctl number is an unsigned int: the upper half of request is dropped. */
    if ((unsigned int)request != (unsigned int)SEV_ISSUE_CMD)
        return -EINVAL;
    uint8_t raw[sizeof(struct sev_issue_cmd)];
    if (from_user(u, arg, raw, sizeof raw))
        return -EFAULT;
    struct issue in = {
        .cmd = mc_le32(raw + offsetof(struct sev_issue_cmd, cmd)),
        .data = mc_le64(raw + offsetof(struct sev_issue_cmd, data)),
        .error = mc_le32(raw + offsetof(struct sev_issue_cmd, error)),
    };
    if (in.cmd >= CMD_SEV_MAX) /* above SEV_MAX, or SEV_MAX itself (the switch's default) */
        return -EINVAL;

    /* The chip: lock its state file and read it again (another process may have changed it). */
    if (d->has_state && mc_psp_state_acquire(mc_board_psp(d->b), d->wait_ms, err)) {
        return err && err->code == MC_E_BUSY ? -EBUSY : -EIO;
    }
    int rc;
    switch (in.cmd) {
    case SEV_FACTORY_RESET: rc = do_reset(d, &in, writable); break;
    case SEV_PLATFORM_STATUS: rc = do_platform_status(d, &in, u); break;
    case SEV_PEK_GEN: rc = do_pek_pdh_gen(d, MC_SEV_CMD_PEK_GEN, &in, writable); break;
    case SEV_PDH_GEN: rc = do_pek_pdh_gen(d, MC_SEV_CMD_PDH_GEN, &in, writable); break;
    case SEV_PEK_CSR: rc = do_pek_csr(d, &in, writable, u); break;
    case SEV_PEK_CERT_IMPORT: rc = do_pek_import(d, &in, writable, u); break;
    case SEV_PDH_CERT_EXPORT: rc = do_pdh_export(d, &in, writable, u); break;
    case SEV_GET_ID: rc = do_get_id(d, &in, u); break;
    case SEV_GET_ID2: rc = do_get_id2(d, &in, u); break;
    case SNP_PLATFORM_STATUS: rc = do_snp_platform_status(d, &in, u); break;
    case SNP_COMMIT: rc = do_snp_commit(d, &in); break;
    case SNP_SET_CONFIG: rc = do_snp_set_config(d, &in, writable, u); break;
    case SNP_VLEK_LOAD: rc = do_snp_vlek_load(d, &in, writable, u); break;
    default: rc = -EINVAL; break;
    }
    if (d->has_state)
        mc_psp_state_release(mc_board_psp(d->b));

    mc_put_le32(raw + offsetof(struct sev_issue_cmd, error), in.error);
    if (to_user(u, arg, raw, sizeof raw))
        rc = -EFAULT;
    return rc;
}

mc_status mc_sevdev_create(const struct mc_sevdev_config *cfg, struct mc_sevdev **out, struct mc_error *err)
{
    if (!out)
        return mc_seterr(err, MC_E_INVAL, "mc_sevdev_create: NULL argument");
    *out = NULL;
    if (!cfg || !cfg->platform)
        return mc_seterr(err, MC_E_INVAL, "mc_sevdev_create: no platform");
    struct mc_board_config bc;
    mc_status s = mc_board_config_init(&bc, cfg->platform, err);
    if (s)
        return s;
    if (!bc.firmware)
        return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' has no AMD SEV (no /dev/sev)", cfg->platform);
    bc.machine.dram_size = DRAM_SIZE;
    bc.machine.seed = cfg->seed;
    bc.machine.seed_len = cfg->seed_len;
    bc.hypervisor = false;
    bc.fw.state_path = cfg->state_path;
    bc.fw.state_wait_ms = cfg->state_wait_ms;
    if (bc.fw.snp)
        bc.rmp_size = MC_BOARD_RMP_AUTO; /* the BIOS reserves the RMP at the top of DRAM */
    struct mc_sevdev *d = calloc(1, sizeof *d);
    if (!d)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    s = mc_board_create(&bc, &d->b, err);
    if (s) {
        free(d);
        return s;
    }
    d->m = mc_board_machine(d->b);
    d->wait_ms = cfg->state_wait_ms;
    d->has_state = cfg->state_path != NULL;
    d->es = mc_board_fw_config(d->b)->es_supported;
    /* An SNP-capable host as Linux leaves it after boot: HWCR.SmmLock set by the BIOS, then the
     * kernel's RMP bring-up (snp_rmptable_init: table zeroed, SYSCFG MFDM/SNP_EN/VMPL_EN). */
    if (bc.fw.snp) {
        struct mc_fault f;
        uint64_t hwcr;
        if (mc_machine_rdmsr(d->m, MC_MSR_HWCR, &hwcr, &f, err) ||
            mc_machine_wrmsr(d->m, MC_MSR_HWCR, hwcr | MC_HWCR_SMMLOCK, &f, err) || mc_board_snp_enable(d->b, err)) {
            s = mc_seterr(err, MC_E_STATE, "the host's SNP bring-up failed: %s", err ? err->msg : "?");
            mc_sevdev_destroy(d);
            return s;
        }
        d->snp = true;
    }
    /* The driver's probe: PLATFORM_STATUS for the API version. */
    uint8_t st[sizeof(struct mc_sev_platform_status)] = {0};
    uint32_t fs;
    if (fw_cmd(d, MC_SEV_CMD_PLATFORM_STATUS, st, sizeof st, &fs)) {
        s = fs != 0xFFFF && fs != MC_FW_SUCCESS
                ? mc_seterr_fw(err, fs, "PLATFORM_STATUS failed at probe (%s)", mc_fw_status_name(fs))
                : mc_seterr(err, MC_E_STATE, "PLATFORM_STATUS failed at probe (no command was issued)");
        mc_sevdev_destroy(d);
        return s;
    }
    d->api_major = st[offsetof(struct mc_sev_platform_status, api_major)];
    d->api_minor = st[offsetof(struct mc_sev_platform_status, api_minor)];
    d->initialised = st[offsetof(struct mc_sev_platform_status, state)] != MC_SEV_PSTATE_UNINIT;
    if (d->has_state)
        mc_psp_state_release(mc_board_psp(d->b));
    *out = d;
    return MC_OK;
}

void mc_sevdev_destroy(struct mc_sevdev *d)
{
    if (!d)
        return;
    mc_board_destroy(d->b);
    free(d);
}
