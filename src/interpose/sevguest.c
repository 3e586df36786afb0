/* /dev/sev-guest: Linux's sev-guest driver (drivers/virt/coco/sev-guest/sev-guest.c as Debian 12's
 * Linux 6.1 ships it, with the exitinfo2 union of its linux/sev-guest.h) over a saved SNP guest
 * restored on the emulated chip that saved it, and the configfs-tsm provider of Linux 6.7. The
 * structures and numbers come from the system's <linux/sev-guest.h>; docs/kernel-interfaces.md has
 * the table of rules and differences. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/ioctl.h>
#include <linux/sev-guest.h>

#include <memcrypt/board.h>
#include <memcrypt/crypto.h>
#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/guest.h>
#include <memcrypt/machine.h>
#include <memcrypt/migrate.h>
#include <memcrypt/psp.h>
#include <memcrypt/rmp.h>
#include <memcrypt/sevguest.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/snp_guest.h>
#include <memcrypt/snp_guest_msg.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/vm.h>

/* The kernel's ABI, pinned: if the system header ever disagreed, the build stops here. */
_Static_assert(sizeof(struct snp_report_req) == 96, "snp_report_req");
_Static_assert(offsetof(struct snp_report_req, vmpl) == 64, "snp_report_req.vmpl");
_Static_assert(sizeof(struct snp_report_resp) == 4000, "snp_report_resp");
_Static_assert(sizeof(struct snp_derived_key_req) == 32, "snp_derived_key_req");
_Static_assert(offsetof(struct snp_derived_key_req, guest_field_select) == 8 &&
                   offsetof(struct snp_derived_key_req, vmpl) == 16 &&
                   offsetof(struct snp_derived_key_req, tcb_version) == 24,
               "snp_derived_key_req fields");
_Static_assert(sizeof(struct snp_derived_key_resp) == 64, "snp_derived_key_resp");
_Static_assert(sizeof(struct snp_guest_request_ioctl) == 32, "snp_guest_request_ioctl");
_Static_assert(offsetof(struct snp_guest_request_ioctl, req_data) == 8 &&
                   offsetof(struct snp_guest_request_ioctl, resp_data) == 16 &&
                   offsetof(struct snp_guest_request_ioctl, exitinfo2) == 24,
               "snp_guest_request_ioctl fields");
_Static_assert(sizeof(struct snp_ext_report_req) == 112, "snp_ext_report_req");
_Static_assert(offsetof(struct snp_ext_report_req, certs_address) == 96 &&
                   offsetof(struct snp_ext_report_req, certs_len) == 104,
               "snp_ext_report_req fields");
_Static_assert(sizeof(struct snp_derived_key_req) == MC_SNP_KEY_REQ_SIZE, "the driver sends the caller's key request");
_Static_assert(sizeof(struct snp_report_req) == MC_SNP_REPORT_REQ_SIZE, "the driver sends the caller's report request");

#define PG 4096ull
#define FW_BLOB_MAX 0x4000u                 /* SEV_FW_BLOB_MAX_SIZE: the largest certificate buffer */
#define CERT_PAGES (FW_BLOB_MAX / PG)
#define TASK_SIZE_MAX 0x00007FFFFFFFF000ull /* access_ok's limit on x86-64 (4-level paging) */
#define VMM_ERR_INVALID_LEN ((uint64_t)SNP_GUEST_VMM_ERR_INVALID_LEN << SNP_GUEST_VMM_ERR_SHIFT)
#define AUTHTAG 16u                         /* crypto->a_len: the response buffer's room for the tag */
#define GUEST_FILE_MAX (1ull << 36)

struct mc_sevguest {
    char *guest_path;
    unsigned wait_ms;
    int vmpck;
    struct mc_board *b;
    struct mc_vm *vm;
    struct mc_snp_guest *g;  /* NULL while the VMPCK is wiped */
    uint8_t *last;           /* the guest file's bytes as this process last read or wrote them */
    size_t last_len;
    int lock_fd;
    uint8_t *certs;          /* the host's certificate table for the guest */
    size_t certs_len;
};

/* ---- the guest and its file ------------------------------------------------------------------- */

/* The bytes last seen are kept (the file is rewritten in place, and a file's times may not change
 * between two writes within one clock tick): another process's update is any difference. */
static void set_last(struct mc_sevguest *d, uint8_t *bytes, size_t len)
{
    free(d->last);
    d->last = bytes;
    d->last_len = bytes ? len : 0;
}

static void drop_guest(struct mc_sevguest *d)
{
    mc_snp_guest_destroy(d->g);
    d->g = NULL;
    mc_vm_destroy(d->vm);
    d->vm = NULL;
    set_last(d, NULL, 0);
}

/* The guest kernel's pages for the message driver: a GHCB, the request and response pages and the
 * certificate buffer, shared, at the top of guest RAM (the highest run of pages the guest has not
 * made private). */
static mc_status driver_pages(struct mc_sevguest *d, struct mc_snp_guest_config *c, struct mc_error *err)
{
    const unsigned need = 3 + CERT_PAGES;
    struct mc_rmp *rmp = mc_board_rmp(d->b);
    uint64_t mem = mc_vm_mem_size(d->vm), base = mc_vm_mem_spa(d->vm);
    unsigned run = 0;
    for (uint64_t gpa = mem - PG;; gpa -= PG) {
        struct mc_rmp_entry e;
        enum mc_rmp_page_state ps;
        if (mc_rmp_fw_read(rmp, base + gpa, &e, &ps, err))
            return MC_E_STATE;
        run = e.assigned ? 0 : run + 1;
        if (run == need) {
            c->ghcb_gpa = gpa;
            c->req_gpa = gpa + PG;
            c->rsp_gpa = gpa + 2 * PG;
            c->certs_gpa = gpa + 3 * PG;
            c->certs_pages = CERT_PAGES;
            return MC_OK;
        }
        if (gpa == 0)
            break;
    }
    return mc_seterr(err, MC_E_FULL, "the guest has no %u shared pages left for its message driver", need);
}

/* The host's certificate table (SNP_SET_EXT_CONFIG / KVM's per-VM certificates): the chip's VCEK at
 * the reported TCB, its ASK and ARK. */
static mc_status host_certs(struct mc_sevguest *d, struct mc_error *err)
{
    struct mc_psp *psp = mc_board_psp(d->b);
    struct mc_snp_identity *id = mc_psp_snp_identity(psp, err);
    if (!id)
        return MC_E_STATE;
    struct mc_psp_snp_tcb t;
    mc_psp_snp_tcb(psp, &t);
    free(d->certs);
    d->certs = NULL;
    mc_status s = mc_snp_identity_certtable(id, t.reported, false, &d->certs, &d->certs_len, err);
    return s ? s : mc_vm_snp_set_certs(d->vm, d->certs, d->certs_len, err);
}

/* Restore the guest from the file's bytes (taken over: kept as the last seen, or freed). */
static mc_status load_guest(struct mc_sevguest *d, uint8_t *file, size_t len, struct mc_error *err)
{
    drop_guest(d);
    mc_status s = mc_guest_restore(d->b, file, len, &d->vm, NULL, err);
    uint64_t secrets = 0;
    if (!s && !mc_vm_snp_secrets(d->vm, &secrets))
        s = mc_seterr(err, MC_E_FORMAT, "%s: the saved guest names no secrets page (it was launched without one)",
                      d->guest_path);
    struct mc_snp_guest_config c = {.secrets_gpa = secrets, .vmpck = d->vmpck};
    if (!s)
        s = driver_pages(d, &c, err);
    if (!s)
        s = host_certs(d, err);
    if (!s) {
        struct mc_error e2 = {0};
        mc_status o = mc_snp_guest_create(mc_vm_vcpu(d->vm, 0), &c, &d->g, &e2);
        if (o && o != MC_E_STATE) /* MC_E_STATE: the VMPCK is wiped; the device answers ENOTTY */
            s = mc_seterr(err, o, "%s", e2.msg);
    }
    if (s) {
        drop_guest(d);
        free(file);
        return s;
    }
    set_last(d, file, len);
    return MC_OK;
}

/* Take the guest file's lock and then the chip's, and make the guest in memory the file's. */
static mc_status enter(struct mc_sevguest *d, struct mc_error *err)
{
    mc_status s = mc_file_lock(d->guest_path, d->wait_ms, &d->lock_fd, err);
    if (s)
        return s;
    s = mc_psp_state_acquire(mc_board_psp(d->b), d->wait_ms, err);
    if (s) {
        mc_file_unlock(d->lock_fd);
        return s;
    }
    uint8_t *file = NULL;
    size_t len = 0;
    s = mc_file_read(d->guest_path, GUEST_FILE_MAX, &file, &len, err);
    if (!s && d->vm && d->last && len == d->last_len && memcmp(file, d->last, len) == 0)
        free(file); /* nobody changed it: the guest in memory is the file's */
    else if (!s)
        s = load_guest(d, file, len, err);
    if (s) {
        mc_psp_state_release(mc_board_psp(d->b));
        mc_file_unlock(d->lock_fd);
    }
    return s;
}

/* The guest file rewritten in place (the whole checkpoint from offset 0, then cut to its length)
 * while its lock is held: every reader of the file takes that lock first (this device, `memcrypt
 * exec --guest`), so no process ever reads it half written. It is not flushed to the disk and not
 * replaced by a rename (a new inode per request cost a third of an ioctl's time in the kernel):
 * the guest's state is its RAM, which a power loss takes on real hardware too; a file torn by a
 * crash is refused as altered (the chip's seal and digest), never loaded wrongly. */
static mc_status write_guest(const char *path, const uint8_t *buf, size_t len, struct mc_error *err)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return mc_seterr(err, MC_E_IO, "%s: %s", path, strerror(errno));
    mc_status s = MC_OK;
    for (size_t off = 0; !s && off < len;) {
        ssize_t w = pwrite(fd, buf + off, len - off, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            s = mc_seterr(err, MC_E_IO, "%s: %s", path, w < 0 ? strerror(errno) : "short write");
        else
            off += (size_t)w;
    }
    struct stat st; /* cut only when it shrank (a truncation to the same length still costs ext4 work) */
    if (!s && (fstat(fd, &st) != 0 || (st.st_size > (off_t)len && ftruncate(fd, (off_t)len) != 0)))
        s = mc_seterr(err, MC_E_IO, "%s: %s", path, strerror(errno));
    if (close(fd) != 0 && !s)
        s = mc_seterr(err, MC_E_IO, "%s: %s", path, strerror(errno));
    return s;
}

/* Write the guest back when a request reached it (a checkpoint), then release the locks. A failed
 * write makes the next call load the file again (the guest there is consistent, only older). */
static mc_status leave(struct mc_sevguest *d, bool changed, struct mc_error *err)
{
    mc_status s = MC_OK;
    if (changed && d->vm) {
        uint8_t *file = NULL;
        size_t len = 0;
        struct mc_migrate_opts o = {.keep_running = true};
        s = mc_guest_save(d->b, &d->vm, &o, &file, &len, err);
        if (!s)
            s = write_guest(d->guest_path, file, len, err);
        if (!s) {
            set_last(d, file, len);
        } else {
            free(file);
            set_last(d, NULL, 0); /* the next call loads the file again */
        }
    }
    mc_psp_state_release(mc_board_psp(d->b));
    mc_file_unlock(d->lock_fd);
    d->lock_fd = -1;
    return s;
}

/* ---- the driver ------------------------------------------------------------------------------- */

static int from_user(const struct mc_sevdev_user *u, uint64_t a, void *buf, size_t len)
{
    return u->read(u->ctx, a, buf, len) ? -EFAULT : 0;
}

static int to_user(const struct mc_sevdev_user *u, uint64_t a, const void *buf, size_t len)
{
    return u->write(u->ctx, a, buf, len) ? -EFAULT : 0;
}

struct rio {
    uint8_t msg_version;
    uint64_t req_data, resp_data, exitinfo2;
};

/* handle_guest_request: the sealed message through the GHCB, the errno the driver makes of the
 * outcome, exitinfo2 as the host returned it (or the INVALID_LEN override), the VMPCK wiped by the
 * message driver where Linux wipes it. *npages in/out for the extended request. */
static int guest_request(struct mc_sevguest *d, struct rio *r, unsigned type, const uint8_t *payload, size_t n,
                         bool ext, uint64_t *npages, uint8_t *resp, size_t cap)
{
    size_t got = 0;
    struct mc_error e = {0};
    mc_status s = mc_snp_guest_request_raw(d->g, type, r->msg_version, payload, n, ext, npages, resp, cap, &got, &e);
    if (s == MC_E_STATE || s == MC_E_INVAL || s == MC_E_NOMEM) /* never reached the host */
        return s == MC_E_NOMEM ? -ENOMEM : -EIO;
    r->exitinfo2 = mc_snp_guest_last_exitinfo2(d->g);
    switch (s) {
    case MC_OK: return 0;
    case MC_E_RANGE: /* the plain retry went through: -EIO and the override, the VMPCK kept */
        r->exitinfo2 = VMM_ERR_INVALID_LEN;
        return -EIO;
    case MC_E_VERIFY:
    case MC_E_FIRMWARE:
        /* An error the host returned is -EIO; a response that did not check -EBADMSG. */
        return r->exitinfo2 ? -EIO : -EBADMSG;
    case MC_E_NOMEM: return -ENOMEM;
    default: return -EIO;
    }
}

static int get_report(struct mc_sevguest *d, struct rio *r, const struct mc_sevdev_user *u, bool *changed)
{
    if (!r->req_data || !r->resp_data)
        return -EINVAL;
    uint8_t req[sizeof(struct snp_report_req)], resp[sizeof(struct snp_report_resp)] = {0};
    if (from_user(u, r->req_data, req, sizeof req))
        return -EFAULT;
    *changed = true;
    int rc = guest_request(d, r, MC_SNP_MSG_REPORT_REQ, req, sizeof req, false, NULL, resp, sizeof resp);
    if (!rc && to_user(u, r->resp_data, resp, sizeof resp))
        rc = -EFAULT;
    return rc;
}

static int get_derived_key(struct mc_sevguest *d, struct rio *r, const struct mc_sevdev_user *u, bool *changed)
{
    if (!r->req_data || !r->resp_data)
        return -EINVAL;
    uint8_t req[sizeof(struct snp_derived_key_req)], resp[sizeof(struct snp_derived_key_resp)] = {0};
    if (from_user(u, r->req_data, req, sizeof req))
        return -EFAULT;
    *changed = true;
    int rc = guest_request(d, r, MC_SNP_MSG_KEY_REQ, req, sizeof req, false, NULL, resp, sizeof resp);
    if (!rc && to_user(u, r->resp_data, resp, sizeof resp))
        rc = -EFAULT;
    mc_wipe(resp, sizeof resp);
    return rc;
}

static int get_ext_report(struct mc_sevguest *d, struct rio *r, const struct mc_sevdev_user *u, bool *changed)
{
    if (!r->req_data || !r->resp_data)
        return -EINVAL;
    uint8_t req[sizeof(struct snp_ext_report_req)], resp[sizeof(struct snp_report_resp)] = {0};
    if (from_user(u, r->req_data, req, sizeof req))
        return -EFAULT;
    uint64_t addr = mc_le64(req + offsetof(struct snp_ext_report_req, certs_address));
    uint32_t clen = mc_le32(req + offsetof(struct snp_ext_report_req, certs_len));
    uint64_t npages = 0;
    if (clen && addr) { /* userspace wants certificate data */
        if (clen > FW_BLOB_MAX || clen % PG)
            return -EINVAL;
        if (addr > TASK_SIZE_MAX || clen > TASK_SIZE_MAX - addr) /* access_ok */
            return -EFAULT;
        npages = clen / PG;
    }
    uint64_t offered = npages;
    *changed = true;
    int rc = guest_request(d, r, MC_SNP_MSG_REPORT_REQ, req, sizeof(struct snp_report_req), true, &npages, resp,
                           sizeof resp);
    if ((r->exitinfo2 >> SNP_GUEST_VMM_ERR_SHIFT) == SNP_GUEST_VMM_ERR_INVALID_LEN) {
        /* If certs length is invalid then copy the returned length. */
        mc_put_le32(req + offsetof(struct snp_ext_report_req, certs_len), (uint32_t)(npages * PG));
        if (to_user(u, r->req_data, req, sizeof req))
            rc = -EFAULT;
    }
    if (rc)
        return rc;
    if (offered) {
        uint8_t *c = malloc(clen);
        if (!c)
            return -ENOMEM;
        struct mc_error e = {0};
        if (mc_snp_guest_read_certs(d->g, c, clen, &e))
            rc = -EIO;
        else if (to_user(u, addr, c, clen))
            rc = -EFAULT;
        free(c);
        if (rc)
            return rc;
    }
    return to_user(u, r->resp_data, resp, sizeof resp);
}

long mc_sevguest_ioctl(struct mc_sevguest *d, unsigned long request, uint64_t arg, const struct mc_sevdev_user *u,
                       struct mc_error *err)
{
    if (!d || !u)
        return -EINVAL;
    uint8_t raw[sizeof(struct snp_guest_request_ioctl)];
    if (from_user(u, arg, raw, sizeof raw))
        return -EFAULT;
    struct rio r = {.msg_version = raw[0],
                    .req_data = mc_le64(raw + offsetof(struct snp_guest_request_ioctl, req_data)),
                    .resp_data = mc_le64(raw + offsetof(struct snp_guest_request_ioctl, resp_data)),
                    .exitinfo2 = 0xff};
    /* Message version must be non-zero. */
    if (!r.msg_version)
        return -EINVAL;
    mc_status s = enter(d, err);
    if (s)
        return s == MC_E_BUSY ? -EBUSY : s == MC_E_NOMEM ? -ENOMEM : -EIO;
    if (!d->g || mc_snp_guest_vmpck_wiped(d->g)) { /* Check if the VMPCK is not empty */
        leave(d, false, NULL);
        return -ENOTTY;
    }
    bool changed = false;
    int rc = -ENOTTY;
    /* The kernel's ioctl number is an unsigned int: the upper half of request is dropped. */
    switch ((unsigned int)request) {
    case (unsigned int)SNP_GET_REPORT: rc = get_report(d, &r, u, &changed); break;
    case (unsigned int)SNP_GET_DERIVED_KEY: rc = get_derived_key(d, &r, u, &changed); break;
    case (unsigned int)SNP_GET_EXT_REPORT: rc = get_ext_report(d, &r, u, &changed); break;
    default: break;
    }
    if (leave(d, changed, err) && !rc)
        rc = -EIO;
    if (r.exitinfo2) {
        mc_put_le64(raw + offsetof(struct snp_guest_request_ioctl, exitinfo2), r.exitinfo2);
        if (to_user(u, arg, raw, sizeof raw))
            return -EFAULT;
    }
    return rc;
}

/* ---- configfs-tsm's provider ------------------------------------------------------------------- */

static int kernel_read(void *ctx, uint64_t a, void *buf, size_t len)
{
    (void)ctx;
    memcpy(buf, (const void *)(uintptr_t)a, len);
    return 0;
}

static int kernel_write(void *ctx, uint64_t a, const void *buf, size_t len)
{
    (void)ctx;
    memcpy((void *)(uintptr_t)a, buf, len);
    return 0;
}

int mc_sevguest_tsm_report(struct mc_sevguest *d, const uint8_t report_data[64], unsigned privlevel, uint8_t **report,
                           size_t *report_len, uint8_t **aux, size_t *aux_len, struct mc_error *err)
{
    if (!d || !report_data || !report || !report_len || !aux || !aux_len)
        return -EINVAL;
    *report = *aux = NULL;
    *report_len = *aux_len = 0;
    uint8_t *buf = calloc(1, PG + FW_BLOB_MAX);
    if (!buf)
        return -ENOMEM;
    uint8_t *table = buf + PG;
    uint8_t req[sizeof(struct snp_ext_report_req)] = {0};
    memcpy(req, report_data, 64);
    mc_put_le32(req + offsetof(struct snp_report_req, vmpl), privlevel);
    mc_put_le64(req + offsetof(struct snp_ext_report_req, certs_address), (uint64_t)(uintptr_t)table);
    mc_put_le32(req + offsetof(struct snp_ext_report_req, certs_len), FW_BLOB_MAX);
    struct rio r = {.msg_version = 1, .req_data = (uint64_t)(uintptr_t)req, .resp_data = (uint64_t)(uintptr_t)buf,
                    .exitinfo2 = 0xff};
    const struct mc_sevdev_user k = {NULL, kernel_read, kernel_write};
    int rc = 0;
    mc_status s = enter(d, err);
    if (s) {
        free(buf);
        return s == MC_E_BUSY ? -EBUSY : s == MC_E_NOMEM ? -ENOMEM : -EIO;
    }
    bool changed = false;
    if (!d->g || mc_snp_guest_vmpck_wiped(d->g))
        rc = -ENOTTY;
    else
        rc = get_ext_report(d, &r, &k, &changed);
    if (leave(d, changed, err) && !rc)
        rc = -EIO;
    uint32_t status = mc_le32(buf), size = mc_le32(buf + 4);
    if (!rc) {
        if (status == MC_FW_INVALID_PARAM || status == MC_FW_INVALID_KEY)
            rc = -EINVAL;
        else if (status)
            rc = -ENXIO;
        else if (size + 0x20ull > PG)
            rc = -ENOMEM;
    }
    if (!rc && !(*report = malloc(size ? size : 1)))
        rc = -ENOMEM;
    if (!rc) {
        memcpy(*report, buf + 0x20, size);
        *report_len = size;
        /* The table runs to the end of its furthest entry (an all-zero entry ends it). */
        uint32_t certs = 0;
        for (size_t i = 0; i < FW_BLOB_MAX / 24; i++) {
            const uint8_t *e = table + 24 * i;
            uint32_t off = mc_le32(e + 16), n = mc_le32(e + 20);
            bool zero = off == 0 && n == 0;
            for (int j = 0; zero && j < 16; j++)
                zero = e[j] == 0;
            if (zero)
                break;
            if ((uint64_t)off + n > certs)
                certs = (uint64_t)off + n > FW_BLOB_MAX ? FW_BLOB_MAX : off + n;
        }
        if (certs && !(*aux = malloc(certs))) {
            rc = -ENOMEM;
        } else if (certs) {
            memcpy(*aux, table, certs);
            *aux_len = certs;
        }
        if (rc) {
            free(*report);
            *report = NULL;
            *report_len = 0;
        }
    }
    free(buf);
    return rc;
}

/* ---- open and close ---------------------------------------------------------------------------- */

mc_status mc_sevguest_create(const struct mc_sevguest_config *cfg, struct mc_sevguest **out, struct mc_error *err)
{
    if (!out)
        return mc_seterr(err, MC_E_INVAL, "mc_sevguest_create: NULL argument");
    *out = NULL;
    if (!cfg || !cfg->guest_path || !cfg->state_path || cfg->vmpck < 0 || cfg->vmpck > 3)
        return mc_seterr(err, MC_E_INVAL, "/dev/sev-guest needs a saved SNP guest, its chip's state file and a VMPCK 0..3");
    uint8_t *file = NULL;
    size_t len = 0;
    struct mc_guest_file_info gi;
    mc_status s = mc_file_read(cfg->guest_path, GUEST_FILE_MAX, &file, &len, err);
    if (!s)
        s = mc_guest_file_info(file, len, &gi, err);
    free(file);
    if (!s && gi.kind != MC_GUEST_KIND_SNP)
        s = mc_seterr(err, MC_E_FORMAT, "%s is a saved SEV%s guest, not an SEV-SNP one (no /dev/sev-guest inside it)",
                      cfg->guest_path, gi.kind == MC_MIGRATE_KIND_SEV_ES ? "-ES" : "");
    if (s)
        return s;
    struct mc_board_config bc;
    if ((s = mc_board_config_init(&bc, gi.platform, err)))
        return s;
    if (!bc.fw.snp)
        return mc_seterr(err, MC_E_FORMAT, "%s names platform '%s', which has no SEV-SNP", cfg->guest_path, gi.platform);
    uint64_t dram = ((gi.mem_size + (64ull << 20)) + (2ull << 20) - 1) & ~((2ull << 20) - 1);
    bc.machine.dram_size = dram < (128ull << 20) ? (128ull << 20) : dram;
    bc.machine.seed = cfg->seed;
    bc.machine.seed_len = cfg->seed_len;
    bc.fw.state_path = cfg->state_path;
    bc.fw.state_wait_ms = cfg->wait_ms;
    bc.rmp_size = MC_BOARD_RMP_AUTO;
    struct mc_sevguest *d = calloc(1, sizeof *d);
    if (!d || !(d->guest_path = strdup(cfg->guest_path))) {
        free(d);
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    }
    d->wait_ms = cfg->wait_ms ? cfg->wait_ms : MC_PSP_STATE_WAIT_MS;
    d->vmpck = cfg->vmpck;
    d->lock_fd = -1;
    s = mc_board_create(&bc, &d->b, err);
    /* The host as Linux leaves it: SmmLock, the RMP brought up, SNP_INIT, WBINVD + DF_FLUSH. */
    struct mc_machine *m = s ? NULL : mc_board_machine(d->b);
    struct mc_fault f;
    uint64_t hwcr;
    uint32_t fs = 0;
    if (!s && (mc_machine_rdmsr(m, MC_MSR_HWCR, &hwcr, &f, err) ||
               mc_machine_wrmsr(m, MC_MSR_HWCR, hwcr | MC_HWCR_SMMLOCK, &f, err) || mc_board_snp_enable(d->b, err) ||
               mc_board_fw(d->b, MC_SEV_CMD_SNP_INIT, NULL, 0, &fs, err) || mc_board_df_flush(d->b, &fs, err)))
        s = mc_seterr(err, MC_E_STATE, "the host's SNP bring-up failed: %s", err ? err->msg : "?");
    if (!s)
        mc_psp_state_release(mc_board_psp(d->b));
    if (s) {
        mc_sevguest_destroy(d);
        return s;
    }
    *out = d;
    return MC_OK;
}

void mc_sevguest_destroy(struct mc_sevguest *d)
{
    if (!d)
        return;
    drop_guest(d);
    mc_board_destroy(d->b);
    free(d->certs);
    free(d->guest_path);
    free(d);
}
