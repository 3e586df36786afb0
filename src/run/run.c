/* `memcrypt run`: launch a libvirt SEV domain on an emulated platform (see memcrypt/run.h).
 *
 * Pieces: a board (memcrypt/board.h: the machine with its memory controller, engine and sparse
 * DRAM, the SEV firmware behind the host driver's mailbox, the KVM-like hypervisor), the VM
 * model (memcrypt/vm.h: guest RAM, nested page tables, ASIDs, launch helpers) and the guest
 * program API (memcrypt/guest.h).
 * The firmware flash is host memory outside guest RAM, as QEMU's pflash region is: the
 * hypervisor copies the image there and LAUNCH_UPDATE_DATA encrypts it by host address.
 * DRAM: [0, 2 MiB) unused, then the hypervisor's pool (the driver's mailbox page first, then
 * guest RAM, NPT, VMSAs, flash, TMR, certificate and secret buffers). Untouched frames cost
 * nothing, so a 16 GiB guest only allocates what the launch and the workload write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/cpu.h>
#include <memcrypt/dma.h>
#include <memcrypt/fileio.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/guest.h>
#include <memcrypt/machine.h>
#include <memcrypt/measure.h>
#include <memcrypt/migrate.h>
#include <memcrypt/ovmf.h>
#include <memcrypt/psp.h>
#include <memcrypt/rmp.h>
#include <memcrypt/run.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/sev_owner.h>
#include <memcrypt/sev_session.h>
#include <memcrypt/vm.h>
#include <memcrypt/vmsa.h>

#include "crypto/crypto.h"
#include "run/owner.h"
#include "run/run_internal.h"

#define POOL_BASE RUN_POOL_BASE
_Static_assert(POOL_BASE == MC_LV_HOST_LOW_BYTES, "the host memory model of memcrypt/libvirt.h");
#define UPDATE_CHUNK (256u << 10)  /* LAUNCH_UPDATE_DATA per 256 KiB of flash */
#define DEFAULT_SECRET_GPA 0x800000ull
#define LUKS_KEY_GUID "736869e5-84f0-4973-92ec-06879ce3da0b" /* grub's disk-passphrase entry */

/* Guest workload layout (guest-physical and virtual addresses). */
#define WL_TABLES_GPA 0x400000ull /* guest page-table pool, 1 MiB */
#define WL_TABLES_LEN 0x100000ull
#define WL_PRIV_GPA 0x100000ull
#define WL_SHARED_GPA 0x200000ull
#define WL_SWIOTLB_GPA 0x300000ull
#define WL_SWIOTLB_LEN 0x10000ull
#define WL_VA 0xffff800000000000ull /* the guest kernel's direct map */

double run_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

mc_status run_host_rw(struct run *x, uint64_t spa, void *buf, size_t len, bool write, struct mc_error *err)
{
    /* Bulk transfers (the firmware image) go through the controller as streamed runs. */
    struct memctl_access a = {.addr = spa, .size = len, .kind = write ? MEMCTL_ACC_WRITE : MEMCTL_ACC_READ, .req = MEMCTL_REQ_HOST,
                          .flags = len >= 4096 ? MEMCTL_ACC_F_STREAM : 0};
    struct mc_fault f;
    struct memctl *mc = mc_machine_memctl(x->m);
    return write ? memctl_write(mc, &a, buf, &f, err) : memctl_read(mc, &a, buf, &f, err);
}

mc_status run_fw(struct run *x, uint32_t cmd, void *buf, size_t len, uint32_t *status, struct mc_error *err)
{
    return mc_board_fw(x->b, cmd, buf, len, status, err);
}

/* ------------------------------------------------------------ platform -- */

static mc_status facts_for(const char *name, const struct mc_cpu_profile **prof, struct mc_lv_platform *p,
                           struct mc_error *err)
{
    mc_status st = mc_cpu_profile_find(name, prof, err);
    if (!st)
        st = mc_libvirt_platform((*prof)->name, p, err);
    if (!st && !p->sev)
        st = mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' has no SEV", p->name);
    return st;
}

mc_status run_boot(struct run *x, const struct mc_cpu_profile *prof, const struct mc_lv_platform *facts, uint64_t pool_size,
                   bool snp, struct mc_error *err)
{
    const struct mc_run_opts *o = x->o;
    struct mc_board_config cfg;
    mc_status st = mc_board_config_init(&cfg, prof->name, err);
    if (st)
        return st;
    cfg.machine.dram_size = POOL_BASE + pool_size;
    if (snp) { /* the RMP the BIOS reserves at the top of DRAM, covering all of it (sparse: free) */
        cfg.machine.dram_size = (cfg.machine.dram_size + (2ull << 20) - 1) & ~((2ull << 20) - 1);
        cfg.rmp_size = mc_rmp_size_for(cfg.machine.dram_size + (64ull << 20));
        cfg.machine.dram_size += cfg.rmp_size;
    }
    cfg.machine.seed = o->seed;
    cfg.machine.seed_len = o->seed_len;
    if (!cfg.firmware) /* facts_for refuses such platforms first */
        return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' has no SEV", prof->name);
    cfg.fw.build = facts->build;
    cfg.fw.state_path = o->state_path;
    cfg.fw.state_wait_ms = o->state_wait_ms;
    cfg.pool_base = POOL_BASE;
    cfg.pool_size = pool_size;
    if ((st = mc_board_create(&cfg, &x->b, err)))
        return st;
    x->m = mc_board_machine(x->b);
    x->vmm = mc_board_vmm(x->b);
    if (o->write_observer)
        memctl_set_write_observer(mc_machine_memctl(x->m), o->write_observer, o->observer_ctx);
    /* The guest owner's own randomness (nonces, keys): from the seed too, when there is one. */
    uint8_t oseed[96];
    size_t on = 0;
    if (o->seed) {
        on = o->seed_len < 64 ? o->seed_len : 64;
        memcpy(oseed, o->seed, on);
        memcpy(oseed + on, "/guest-owner", 12);
        on += 12;
    }
    return mc_rng_create(o->seed ? oseed : NULL, on, &x->owner_rng, err);
}

static mc_status fw_init(struct run *x, bool es, struct mc_error *err)
{
    uint8_t b[sizeof(struct mc_sev_init)] = {0};
    if (es) {
        uint64_t tmr;
        mc_status st = mc_vmm_alloc(x->vmm, 2 * MC_SEV_TMR_LEN, &tmr, err);
        if (st)
            return st;
        tmr = (tmr + MC_SEV_TMR_LEN - 1) & ~(uint64_t)(MC_SEV_TMR_LEN - 1);
        mc_put_le32(b + RUN_OFF(mc_sev_init, flags), MC_SEV_INIT_FLAG_ES);
        mc_put_le64(b + RUN_OFF(mc_sev_init, tmr_paddr), tmr);
        mc_put_le32(b + RUN_OFF(mc_sev_init, tmr_len), MC_SEV_TMR_LEN);
    }
    /* As the Linux ccp driver brings the platform up (__sev_platform_init_locked): INIT, then
     * WBINVD on every CPU and DF_FLUSH, so the first ACTIVATE finds every ASID clean instead of
     * failing with DF_FLUSH_REQUIRED. */
    mc_status st = run_fw(x, MC_SEV_CMD_INIT, b, sizeof b, NULL, err);
    if (!st)
        st = mc_board_df_flush(x->b, NULL, err);
    if (!st) {
        x->r->df_flush = true;
        for (uint32_t a = 1; a <= x->facts->max_sev_asid; a++)
            x->r->dirty_asids_after_init += mc_psp_asid_dirty(mc_board_psp(x->b), a);
    }
    return st;
}

static mc_status fw_platform_status(struct run *x, struct mc_error *err)
{
    uint8_t b[sizeof(struct mc_sev_platform_status)] = {0};
    mc_status st = run_fw(x, MC_SEV_CMD_PLATFORM_STATUS, b, sizeof b, NULL, err);
    if (st)
        return st;
    x->r->api_major = b[RUN_OFF(mc_sev_platform_status, api_major)];
    x->r->api_minor = b[RUN_OFF(mc_sev_platform_status, api_minor)];
    x->r->build = b[RUN_OFF(mc_sev_platform_status, build)];
    return MC_OK;
}

static mc_status fw_pdh_export(struct run *x, uint8_t pdh[MC_SEV_CERT_LEN], struct mc_error *err)
{
    uint64_t buf;
    mc_status st = mc_vmm_alloc(x->vmm, MC_SEV_CERT_LEN + MC_SEV_CHAIN_LEN, &buf, err);
    if (st)
        return st;
    uint8_t b[sizeof(struct mc_sev_pdh_cert_export)] = {0};
    mc_put_le64(b + RUN_OFF(mc_sev_pdh_cert_export, pdh_paddr), buf);
    mc_put_le32(b + RUN_OFF(mc_sev_pdh_cert_export, pdh_len), MC_SEV_CERT_LEN);
    mc_put_le64(b + RUN_OFF(mc_sev_pdh_cert_export, chain_paddr), buf + MC_SEV_CERT_LEN);
    mc_put_le32(b + RUN_OFF(mc_sev_pdh_cert_export, chain_len), MC_SEV_CHAIN_LEN);
    if ((st = run_fw(x, MC_SEV_CMD_PDH_CERT_EXPORT, b, sizeof b, NULL, err)))
        return st;
    return run_host_rw(x, buf, pdh, MC_SEV_CERT_LEN, false, err);
}

/* QEMU's pflash: host memory outside guest RAM; LAUNCH_UPDATE_DATA by host address. */
static mc_status launch_flash(struct run *x, const uint8_t *fw_img, size_t len, struct mc_error *err)
{
    uint64_t spa;
    mc_status st = mc_vmm_alloc(x->vmm, len, &spa, err);
    if (st || (st = run_host_rw(x, spa, (void *)fw_img, len, true, err)))
        return st;
    const struct mc_run_opts *o = x->o;
    double t0 = run_now();
    for (uint64_t off = 0; off < len;) {
        uint32_t n = (uint32_t)(len - off > UPDATE_CHUNK ? UPDATE_CHUNK : len - off);
        uint8_t b[sizeof(struct mc_sev_launch_update)] = {0};
        mc_put_le32(b + RUN_OFF(mc_sev_launch_update, handle), x->r->handle);
        mc_put_le64(b + RUN_OFF(mc_sev_launch_update, paddr), spa + off);
        mc_put_le32(b + RUN_OFF(mc_sev_launch_update, len), n);
        if ((st = run_fw(x, MC_SEV_CMD_LAUNCH_UPDATE_DATA, b, sizeof b, NULL, err)))
            return st;
        off += n;
        if (o->progress)
            o->progress(o->cb_ctx, "launch-update", off, len);
    }
    x->r->update_seconds += run_now() - t0;
    x->r->launch_bytes += len;
    return MC_OK;
}

static mc_status fw_guest_status(struct run *x, struct mc_error *err)
{
    uint8_t b[sizeof(struct mc_sev_guest_status)] = {0};
    mc_put_le32(b + RUN_OFF(mc_sev_guest_status, handle), x->r->handle);
    mc_status st = run_fw(x, MC_SEV_CMD_GUEST_STATUS, b, sizeof b, NULL, err);
    if (!st)
        x->r->final_state = b[RUN_OFF(mc_sev_guest_status, state)];
    return st;
}

void run_teardown(struct run *x)
{
    mc_vm_destroy(x->vm);
    mc_board_destroy(x->b);
    mc_rng_destroy(x->owner_rng);
    memset(x, 0, sizeof *x);
}

/* The running guest, saved for another process on this chip (memcrypt/migrate.h). The pages the
 * workload shares with the hypervisor travel as they are. */
mc_status run_save_guest(struct run *x, const uint64_t (*shared)[2], size_t nshared, struct mc_error *err)
{
    struct mc_migrate_opts mo = {.shared = shared, .nshared = nshared};
    uint8_t *file = NULL;
    size_t len = 0;
    mc_status st = mc_guest_save(x->b, &x->vm, &mo, &file, &len, err);
    if (!st)
        st = mc_file_write_atomic(x->o->save_path, file, len, err);
    free(file);
    if (!st) {
        x->r->saved = true;
        x->r->saved_bytes = len;
    }
    return st;
}

/* The SEV guest: the pages its workload shares with the hypervisor travel as they are. */
static mc_status save_guest(struct run *x, struct mc_error *err)
{
    static const uint64_t shared[][2] = {{WL_SHARED_GPA, 0x1000}, {WL_SWIOTLB_GPA, WL_SWIOTLB_LEN}};
    return run_save_guest(x, shared, x->o->platform_only ? 0 : 2, err);
}

/* ------------------------------------------------------------- workload -- */

static mc_status view_page(struct run *x, struct mc_vcpu *v, uint64_t gpa, struct mc_run_view *out, struct mc_error *err)
{
    struct mc_fault f;
    uint64_t spa;
    out->gpa = gpa;
    mc_status st = mc_guest_load(v, WL_VA + gpa, out->guest, 64, false, &f, err);
    if (st || (st = mc_vm_npt_translate(x->vm, gpa, MEMCTL_ACC_READ, &spa, &f, err)))
        return st;
    unsigned cbit = memctl_get_platform(mc_machine_memctl(x->m))->cbit;
    out->spa = spa & ~(1ull << cbit);
    /* The caches are written back first, so DRAM holds what the lines hold. */
    if ((st = mc_machine_wbinvd(x->m, err)) || (st = mc_vm_host_read(x->vm, gpa, out->hypervisor, 64, err)) ||
        (st = run_host_rw(x, out->spa | (1ull << cbit), out->host_key, 64, false, err)) ||
        (st = mc_machine_wbinvd(x->m, err)) || (st = mc_vm_dram_read(x->vm, gpa, out->bus, 64, err)))
        return st;
    return MC_OK;
}

static mc_status workload(struct run *x, const uint8_t *secret_guid, const uint8_t *secret, size_t secret_len,
                          bool show_text, struct mc_error *err)
{
    struct mc_run_report *r = x->r;
    struct mc_vcpu *v = mc_vm_vcpu(x->vm, 0);
    struct mc_fault f;
    mc_status st;
    /* The guest kernel's early boot: its own page tables, a direct map of the pages used here. */
    uint64_t secret_page = r->secret_gpa & ~0xFFFull;
    uint64_t secret_span = ((r->secret_gpa + r->secret_len + 0xFFF) & ~0xFFFull) - secret_page;
    if ((st = mc_guest_paging_init(x->vm, WL_TABLES_GPA, WL_TABLES_LEN, err)) ||
        (st = mc_guest_map(x->vm, WL_VA + WL_PRIV_GPA, WL_PRIV_GPA, 0x1000, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX, err)) ||
        (st = mc_guest_map(x->vm, WL_VA + WL_SHARED_GPA, WL_SHARED_GPA, 0x1000,
                           MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX | MC_GUEST_MAP_SHARED, err)) ||
        (st = mc_guest_map(x->vm, WL_VA + WL_SWIOTLB_GPA, WL_SWIOTLB_GPA, WL_SWIOTLB_LEN,
                           MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX | MC_GUEST_MAP_SHARED, err)) ||
        (secret_span && (st = mc_guest_map(x->vm, WL_VA + secret_page, secret_page, secret_span, MC_GUEST_MAP_NX, err))))
        return st;

    /* 1. The secret the owner injected: private memory, so only the guest key decrypts it. */
    if (r->secret_len) {
        uint8_t *area = malloc(r->secret_len);
        if (!area)
            return mc_seterr(err, MC_E_NOMEM, "out of memory");
        if ((st = mc_guest_load(v, WL_VA + r->secret_gpa, area, r->secret_len, false, &f, err))) {
            free(area);
            return st;
        }
        const uint8_t *data;
        size_t dlen;
        if (mc_run_secret_lookup(area, r->secret_len, secret_guid, &data, &dlen, NULL)) {
            r->secret_found = true;
            r->secret_seen_len = (uint32_t)dlen;
            st = mc_sha256(data, dlen, r->secret_seen_sha256, err);
            /* Only the built-in demo sentence is shown; a user's secret never reaches the output. */
            if (!st && show_text) {
                size_t n = dlen < sizeof r->secret_seen - 1 ? dlen : sizeof r->secret_seen - 1;
                for (size_t i = 0; i < n; i++)
                    r->secret_seen[i] = (data[i] >= 0x20 && data[i] < 0x7f) ? (char)data[i] : '.';
                r->secret_seen[n] = 0;
            }
            r->secret_ok = secret ? (dlen == secret_len && mc_ct_equal(data, secret, dlen)) : true;
        }
        mc_wipe(area, r->secret_len);
        free(area);
        if (st)
            return st;
    }

    /* 2. Private and shared data, and what each party sees of them. */
    uint8_t line[64] = {0};
    snprintf((char *)line, sizeof line, "private: only ASID %u can read this line", r->asid);
    if ((st = mc_guest_store(v, WL_VA + WL_PRIV_GPA, line, sizeof line, false, &f, err)))
        return st;
    memset(line, 0, sizeof line);
    snprintf((char *)line, sizeof line, "shared: the hypervisor may read this line");
    if ((st = mc_guest_store(v, WL_VA + WL_SHARED_GPA, line, sizeof line, false, &f, err)) ||
        (st = view_page(x, v, WL_PRIV_GPA, &r->priv, err)) || (st = view_page(x, v, WL_SHARED_GPA, &r->shared, err)))
        return st;
    /* The same VM run under a neighbour's ASID (a wrong VMCB): a second, small guest is launched
     * so that its ASID has a key; our private page then decrypts to garbage under that key. */
    struct mc_vm_config nc = {.vcpus = 1, .mem_size = 2u << 20, .policy = r->policy};
    struct mc_vm *neighbour = NULL;
    if ((st = mc_vm_create(x->vmm, &nc, &neighbour, NULL, err)))
        return st;
    uint32_t other = mc_vm_asid(neighbour);
    mc_vm_set_vmcb_asid(x->vm, other);
    struct mc_error werr = {0};
    mc_status wst = mc_guest_phys_read(v, WL_PRIV_GPA, true, line, sizeof line, &f, &werr);
    mc_vm_set_vmcb_asid(x->vm, r->asid);
    mc_vm_destroy(neighbour);
    r->wrong_asid_tried = true;
    r->wrong_asid = other;
    r->wrong_asid_garbage = wst != MC_OK || memcmp(line, r->priv.guest, sizeof line) != 0;
    if (wst == MC_OK) {
        char hex[40];
        mc_hex_encode(line, 12, hex);
        snprintf(r->wrong_asid_note, sizeof r->wrong_asid_note, "reads %s... (%s)", hex,
                 r->wrong_asid_garbage ? "garbage: another ASID selects another key" : "THE PLAINTEXT");
    } else {
        snprintf(r->wrong_asid_note, sizeof r->wrong_asid_note, "cannot read it: %.120s", werr.msg);
    }

    /* 3. Bounce-buffered device I/O (SWIOTLB): the device reaches only shared pages. */
    struct mc_swiotlb sw;
    struct mc_dma_port dma;
    static const char req[32] = "READ sector 7 of /dev/vda", resp[32] = "sector 7: 0123456789abcdef";
    uint8_t got[32];
    uint64_t bus, slot;
    if ((st = mc_swiotlb_init(&sw, v, WL_VA + WL_SWIOTLB_GPA, WL_SWIOTLB_GPA, WL_SWIOTLB_LEN, err)) ||
        (st = mc_dma_init(&dma, mc_machine_memctl(x->m), 64, err)) ||
        (st = mc_guest_store(v, WL_VA + WL_PRIV_GPA + 64, req, sizeof req, false, &f, err)) ||
        (st = mc_swiotlb_map(&sw, WL_VA + WL_PRIV_GPA + 64, sizeof req, true, &bus, &slot, err)) ||
        (st = mc_dma_read(&dma, bus, r->io_device_saw, sizeof r->io_device_saw, &f, err)) ||
        (st = mc_dma_write(&dma, bus, resp, sizeof resp, &f, err)) ||
        (st = mc_swiotlb_unmap_from_device(&sw, slot, WL_VA + WL_PRIV_GPA + 128, sizeof resp, err)) ||
        (st = mc_guest_load(v, WL_VA + WL_PRIV_GPA + 128, got, sizeof got, false, &f, err)))
        return st;
    /* A device reading the private request directly gets ciphertext. */
    uint64_t priv_spa;
    uint8_t direct[32];
    if ((st = mc_vm_npt_translate(x->vm, WL_PRIV_GPA + 64, MEMCTL_ACC_READ, &priv_spa, &f, err)) ||
        (st = mc_machine_wbinvd(x->m, err)) ||
        (st = mc_dma_read(&dma, priv_spa & ~(1ull << memctl_get_platform(mc_machine_memctl(x->m))->cbit), direct,
                          sizeof direct, &f, err)))
        return st;
    r->io_direct_ciphertext = memcmp(direct, req, sizeof req) != 0;
    r->io_ok = !memcmp(r->io_device_saw, req, sizeof req) && !memcmp(got, resp, sizeof resp);
    r->workload = true;
    return MC_OK;
}

/* ----------------------------------------------------------------- run -- */

static const char demo_secret[] = "memcrypt demo secret: the disk passphrase is 'correct horse battery staple'";

mc_status run_read_named(const char *path, const char *what, size_t max, uint8_t **buf, size_t *len,
                         struct mc_error *err)
{
    mc_status st = mc_file_read(path, max, buf, len, err);
    if (st && err) {
        char tmp[MC_ERROR_MSG_MAX];
        snprintf(tmp, sizeof tmp, "%s", err->msg);
        mc_seterr(err, st, "%s: %s", what, tmp);
    }
    return st;
}

/* Everything mc_run owns while it works; freed at the end whatever happens. */
struct run_bufs {
    uint8_t *fw, *kernel, *initrd, *hdr, *payload, *plain;
    size_t fw_len, kernel_len, initrd_len, hdr_len, payload_len, plain_len;
    struct mc_sev_tks tks;
};

static void bufs_free(struct run_bufs *b)
{
    mc_wipe(&b->tks, sizeof b->tks);
    if (b->plain)
        mc_wipe(b->plain, b->plain_len);
    free(b->plain);
    free(b->payload);
    free(b->hdr);
    free(b->fw);
    free(b->kernel);
    free(b->initrd);
}

/* The owner's sealed secret table with one entry (GUID guid, the secret), for LAUNCH_SECRET. */
static mc_status seal_secret(struct run *x, struct run_bufs *b, const uint8_t guid[16], const uint8_t *secret,
                             size_t len, struct mc_error *err)
{
    struct mc_sev_secret_entry e = {.data = secret, .len = len};
    memcpy(e.guid, guid, 16);
    size_t cap = len + 64;
    struct mc_sev_secret_hdr h;
    uint8_t iv[16];
    if (!(b->plain = malloc(cap)) || !(b->payload = malloc(cap)) || !(b->hdr = malloc(MC_SEV_SECRET_HDR_LEN)))
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    bool api17 = x->r->api_major > 0 || x->r->api_minor >= 17;
    mc_status st;
    if ((st = mc_sev_secret_table_build(&e, 1, MC_SEV_SECRET_PAD_LIBVIRT, b->plain, cap, &b->plain_len, err)) ||
        (st = mc_rng_bytes(x->owner_rng, iv, sizeof iv, err)) ||
        (st = mc_sev_secret_seal(&b->tks, api17, iv, b->plain, b->plain_len, x->r->measurement, &h, b->payload, err)))
        return st;
    mc_sev_secret_hdr_encode(&h, b->hdr);
    b->hdr_len = MC_SEV_SECRET_HDR_LEN;
    b->payload_len = b->plain_len;
    return MC_OK;
}

mc_status mc_run(struct mc_lv_domain *d, const struct mc_run_opts *o, struct mc_run_report *r, struct mc_error *err)
{
    if (!d || !o || !r)
        return mc_seterr(err, MC_E_INVAL, "mc_run: NULL argument");
    memset(r, 0, sizeof *r);
    struct run x = {.r = r, .o = o};
    const struct mc_cpu_profile *prof;
    struct mc_lv_platform facts;
    mc_status st = facts_for(o->platform ? o->platform : "milan", &prof, &facts, err);
    if (st)
        return st;
    x.facts = &facts;
    snprintf(r->platform, sizeof r->platform, "%s", prof->name);
    snprintf(r->generation, sizeof r->generation, "%s", prof->generation ? prof->generation : "");
    snprintf(r->name, sizeof r->name, "%s", d->name);
    if (d->sec.type == MC_LV_SEC_NONE)
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "domain '%.60s' has no <launchSecurity type='sev'> (or 'sev-snp'); memcrypt run launches SEV and SEV-SNP guests", d->name);
    if ((st = mc_libvirt_validate(d, &facts,
                                  MC_LV_CHECK_BLOBS | MC_LV_CHECK_HOST | (o->firmware ? 0 : MC_LV_CHECK_FILES), err)))
        return st;
    const char *fwpath = o->firmware ? o->firmware : d->loader ? d->loader : o->default_firmware;
    if (!fwpath)
        return mc_seterr(err, MC_E_INVAL, "no firmware image: give <loader> in the XML or --firmware");
    const struct mc_lv_launch_security *s = &d->sec;
    r->policy = (uint32_t)s->policy;
    r->es = (r->policy & MC_SEV_POLICY_ES) != 0;
    r->vcpus = d->vcpus;
    r->memory_bytes = d->memory_kib * 1024;
    r->kernel_hashes = s->kernel_hashes == MC_LV_YES;
    snprintf(r->firmware, sizeof r->firmware, "%s", fwpath);
    if (r->memory_bytes < (32ull << 20))
        return mc_seterr(err, MC_E_RANGE,
                         "memcrypt run needs at least 32 MiB of guest memory (OVMF's SEV areas lie below 16 MiB)");
    if (r->vcpus > 64)
        return mc_seterr(err, MC_E_RANGE, "the VM model runs at most 64 vCPUs, the domain asks for %u", r->vcpus);
    bool snp = d->sec.type == MC_LV_SEC_SEV_SNP;
    if (snp) {
        r->snp.policy = s->policy;
        r->policy = 0;
        r->es = true; /* an SNP guest is an SEV-ES guest with the RMP */
    }

    struct run_bufs b;
    memset(&b, 0, sizeof b);
    struct mc_ovmf ov;
    memset(&ov, 0, sizeof ov);
    uint8_t table[MC_SEV_HASHES_TABLE_LEN];
    double t_start;

    if ((st = run_read_named(fwpath, "firmware", MC_OVMF_MAX_SIZE, &b.fw, &b.fw_len, err)))
        goto out;
    r->firmware_size = b.fw_len;
    if (b.fw_len == 0 || b.fw_len % 4096) {
        st = mc_seterr(err, MC_E_FORMAT,
                       "firmware image '%.200s' is %zu bytes; a flash image is a whole number of 4 KiB sectors", fwpath,
                       b.fw_len);
        goto out;
    }
    if (snp) {
        st = run_snp(&x, prof, d, b.fw, b.fw_len, err);
        goto out;
    }
    bool have_table = mc_ovmf_parse(b.fw, b.fw_len, MC_OVMF_FOUR_GB, &ov, NULL) == MC_OK && ov.has_table;
    uint64_t mem = (r->memory_bytes + (2u << 20) - 1) & ~((uint64_t)(2u << 20) - 1);
    if (r->kernel_hashes) {
        /* QEMU's sev_add_kernel_loader_hashes checks and wording. */
        if (!have_table || !ov.has_hashes) {
            st = mc_seterr(err, MC_E_UNSUPPORTED, "SEV: kernel specified but guest firmware has no hashes table GUID");
            goto out;
        }
        if (ov.hashes_size < MC_SEV_HASHES_TABLE_LEN) {
            st = mc_seterr(err, MC_E_UNSUPPORTED,
                           "SEV: guest firmware hashes table area is invalid (base=0x%x size=0x%x): '%.200s' is not an "
                           "AmdSev build of OVMF",
                           ov.hashes_gpa, ov.hashes_size, fwpath);
            goto out;
        }
        if (ov.hashes_gpa + (uint64_t)MC_SEV_HASHES_TABLE_LEN > mem) {
            st = mc_seterr(err, MC_E_RANGE, "the firmware's hashes table (GPA 0x%x) lies outside guest memory",
                           ov.hashes_gpa);
            goto out;
        }
        if ((st = run_read_named(d->kernel, "kernel", 1u << 30, &b.kernel, &b.kernel_len, err)) ||
            (d->initrd && (st = run_read_named(d->initrd, "initrd", 1u << 30, &b.initrd, &b.initrd_len, err))) ||
            (st = mc_sev_hashes_table(b.kernel, b.kernel_len, d->initrd ? b.initrd : NULL, b.initrd_len, d->cmdline,
                                      table, err)))
            goto out;
        r->hashes_gpa = ov.hashes_gpa;
    }
    if (r->es && (!have_table || !ov.has_reset_block)) {
        st = mc_seterr(err, MC_E_UNSUPPORTED, "SEV-ES: firmware '%.200s' has no SEV-ES reset block in its GUID table",
                       fwpath);
        goto out;
    }

    /* Boot the platform: machine, firmware, hypervisor; INIT and PLATFORM_STATUS as QEMU/KVM. */
    t_start = run_now();
    /* DRAM as mc_libvirt_host_bytes() counts it, which `domain check` checked against the platform;
     * the pool is sparse, so reserving the largest flash costs nothing. */
    if (o->progress)
        o->progress(o->cb_ctx, "boot", 0, 0);
    if ((st = run_boot(&x, prof, &facts, mc_libvirt_host_bytes(r->memory_bytes) - POOL_BASE, false, err)))
        goto out;
    r->boot_seconds = run_now() - t_start;
    double t_init = run_now();
    if ((st = fw_init(&x, facts.sev_es, err)) || (st = fw_platform_status(&x, err)))
        goto out;
    r->init_seconds = run_now() - t_init;
    double t_chan = run_now();

    /* The guest owner and the launch channel. */
    uint8_t godh[MC_SEV_CERT_LEN], sess[MC_SEV_SESSION_LEN];
    struct mc_vm_config vc = {.vcpus = r->vcpus, .mem_size = mem, .policy = r->policy};
    if (o->tek && o->tik) {
        memcpy(b.tks.tek, o->tek, 16);
        memcpy(b.tks.tik, o->tik, 16);
    } else if ((st = mc_rng_bytes(x.owner_rng, (uint8_t *)&b.tks, sizeof b.tks, err))) {
        goto out;
    }
    if (s->dh_cert.text) {
        vc.godh = s->dh_cert.data; /* decoded and size-checked by the validation above */
        vc.session = s->session.data;
        r->channel = true;
        r->owner_knows_tik = o->tek && o->tik;
        snprintf(r->owner, sizeof r->owner, "%s",
                 r->owner_knows_tik ? "the owner of the XML's dhCert/session (TEK/TIK given with --tk)"
                                    : "the owner of the XML's dhCert/session (TEK/TIK unknown here)");
    } else if (o->no_session) {
        memset(&b.tks, 0, sizeof b.tks);
        r->owner_knows_tik = true;
        snprintf(r->owner, sizeof r->owner, "none: no dhCert/session, the firmware uses all-zero TEK/TIK");
    } else {
        uint8_t pdh[MC_SEV_CERT_LEN];
        if ((st = fw_pdh_export(&x, pdh, err)) ||
            (st = mc_run_owner_session(x.owner_rng, pdh, sizeof pdh, &b.tks, r->policy, r->api_major, r->api_minor,
                                       godh, sess, err)))
            goto out;
        vc.godh = godh;
        vc.session = sess;
        r->channel = true;
        r->owner_knows_tik = true;
        snprintf(r->owner, sizeof r->owner, "%s",
                 o->tek ? "memcrypt, with the given TEK/TIK wrapped in a session against the platform's PDH"
                        : "memcrypt, with fresh TEK/TIK wrapped in a session against the platform's PDH");
    }

    r->channel_seconds = run_now() - t_chan;
    double t_guest = run_now();
    /* LAUNCH_START + ACTIVATE (the VM model picks the ASID and flushes when asked). */
    if ((st = mc_vm_create(x.vmm, &vc, &x.vm, NULL, err)))
        goto out;
    r->handle = mc_vm_handle(x.vm);
    r->asid = mc_vm_asid(x.vm);
    /* LAUNCH_UPDATE_DATA: the firmware flash, then the kernel-hashes table, then (ES) the VMSAs. */
    if ((st = launch_flash(&x, b.fw, b.fw_len, err)))
        goto out;
    if (r->kernel_hashes) {
        double t0 = run_now();
        if ((st = mc_vm_launch_update(x.vm, ov.hashes_gpa, table, sizeof table, 0, NULL, NULL, err)))
            goto out;
        r->update_seconds += run_now() - t0;
        r->launch_bytes += sizeof table;
    }
    uint32_t vcpu_sig = 0;
    if (r->es) {
        if ((st = mc_cpu_sig(prof->family, prof->model_id, 0, &vcpu_sig, err)))
            goto out;
        for (unsigned i = 0; i < r->vcpus; i++) {
            uint8_t page[MC_VMSA_SIZE];
            struct mc_vmsa_params vp = {.eip = i == 0 ? MC_VMSA_BSP_EIP : ov.reset_eip, .vcpu_sig = vcpu_sig,
                                        .vmm = MC_VMM_QEMU};
            mc_vmsa_build(&vp, page);
            if (i < 2)
                memcpy(r->vmsa[i], page, sizeof page);
            double t0 = run_now();
            if ((st = mc_vm_launch_update_vmsa(x.vm, i, page, err)))
                goto out;
            r->update_seconds += run_now() - t0;
            r->launch_bytes += sizeof page;
        }
    }
    if ((st = mc_vm_launch_measure(x.vm, r->measurement, err)))
        goto out;

    /* The guest owner: the expected launch digest from the image alone, then MEASURE. */
    {
        struct mc_measure_input in = {.mode = r->es ? MC_MEASURE_SEV_ES : MC_MEASURE_SEV,
                                      .ovmf = b.fw,
                                      .ovmf_len = b.fw_len,
                                      .vcpus = r->vcpus,
                                      .vcpu_sig = vcpu_sig,
                                      .vmm = MC_VMM_QEMU,
                                      .has_kernel = r->kernel_hashes,
                                      .kernel = b.kernel,
                                      .kernel_len = b.kernel_len,
                                      .initrd = d->initrd ? b.initrd : NULL,
                                      .initrd_len = b.initrd_len,
                                      .append = d->cmdline};
        uint8_t ld[MC_MEASURE_MAX_DIGEST];
        size_t ldn;
        if ((st = mc_measure(&in, ld, &ldn, err)))
            goto out;
        memcpy(r->launch_digest, ld, 32);
        if (r->owner_knows_tik) {
            struct mc_error verr;
            r->measurement_ok = mc_sev_owner_verify_measurement(b.tks.tik, r->measurement, r->api_major, r->api_minor,
                                                                r->build, r->policy, r->launch_digest, NULL,
                                                                &verr) == MC_OK;
            if (!r->measurement_ok) {
                st = mc_seterr(err, MC_E_VERIFY,
                               "the launch measurement does not match what the guest owner expects (%s); no secret is "
                               "released and the guest is not started",
                               verr.msg);
                goto out;
            }
        }
    }
    /* Nothing after the measurement changes the persistent state: let other processes have it
     * while the caller waits for the guest owner. */
    mc_psp_state_release(mc_board_psp(x.b));
    if (o->on_measured &&
        (st = o->on_measured(o->cb_ctx, r, &b.hdr, &b.hdr_len, &b.payload, &b.payload_len, err)))
        goto out;

    /* LAUNCH_SECRET: the firmware's secret area when it publishes one, else a fixed address. */
    const uint8_t *want = o->secret ? o->secret : (const uint8_t *)demo_secret;
    size_t want_len = o->secret ? o->secret_len : sizeof demo_secret - 1;
    uint8_t luks[16];
    mc_guid_parse(LUKS_KEY_GUID, luks, NULL);
    if (b.hdr)
        r->external_secret = true;
    else if (r->owner_knows_tik && (st = seal_secret(&x, &b, luks, want, want_len, err)))
        goto out;
    if (b.hdr) {
        r->secret_area_from_firmware = !o->has_secret_gpa && have_table && ov.has_secret && ov.secret_size > 0;
        uint64_t gpa = o->has_secret_gpa ? o->secret_gpa
                                         : r->secret_area_from_firmware ? ov.secret_gpa : DEFAULT_SECRET_GPA;
        if (r->secret_area_from_firmware && b.payload_len > ov.secret_size) {
            st = mc_seterr(err, MC_E_RANGE, "the secret (%zu bytes) does not fit the firmware's secret area (%u bytes)",
                           b.payload_len, ov.secret_size);
            goto out;
        }
        if (b.hdr_len != MC_SEV_SECRET_HDR_LEN || b.payload_len > MC_SEV_SECRET_MAX) {
            st = mc_seterr(err, MC_E_FORMAT, "the secret packet has a %zu-byte header and %zu bytes of data (want 52 "
                           "and at most 0x5000)", b.hdr_len, b.payload_len);
            goto out;
        }
        if (!o->platform_only && gpa < WL_TABLES_GPA + WL_TABLES_LEN && gpa + b.payload_len > WL_PRIV_GPA) {
            st = mc_seterr(err, MC_E_RANGE,
                           "secret address 0x%llx overlaps the guest workload's pages (0x%llx..0x%llx); choose "
                           "another --secret-gpa",
                           (unsigned long long)gpa, (unsigned long long)WL_PRIV_GPA,
                           (unsigned long long)(WL_TABLES_GPA + WL_TABLES_LEN));
            goto out;
        }
        r->secret_gpa = gpa;
        r->secret_len = (uint32_t)b.payload_len;
        st = mc_vm_launch_secret(x.vm, b.hdr, b.payload, (uint32_t)b.payload_len, gpa, err);
        r->secret_fw_status = mc_vm_last_fw_status(x.vm);
        if (st)
            goto out;
    }
    if ((st = mc_vm_launch_finish(x.vm, err)) || (st = fw_guest_status(&x, err)))
        goto out;
    r->launch_seconds = run_now() - t_start;
    r->guest_launch_seconds = run_now() - t_guest;
    double t_work = run_now();
    if (!o->platform_only && o->progress)
        o->progress(o->cb_ctx, "workload", 0, 0);
    if (!o->platform_only &&
        (st = workload(&x, r->external_secret ? NULL : luks, r->external_secret ? NULL : want, want_len,
                        !r->external_secret && !o->secret, err)))
        goto out;
    r->workload_seconds = run_now() - t_work;
    r->dram_touched = mc_dram_frames_touched(mc_machine_dram(x.m));
    if (o->save_path && (st = save_guest(&x, err)))
        goto out;
out:
    bufs_free(&b);
    run_teardown(&x);
    return st;
}
