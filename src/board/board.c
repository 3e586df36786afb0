/* memcrypt — the board: one platform assembled from a CPU profile, and the host driver's
 * firmware mailbox. See include/memcrypt/board.h. */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/board.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/sev_api.h>

#include "board/board_int.h"
#include "cpu/tme_internal.h"
#include "fw/psp_snap.h"
#include "machine/machine_snap.h"
#include "vmm/vmm_host.h"

#define MIN_POOL 0x10000ull /* the hypervisor's pool must hold at least 64 KiB */

mc_status mc_board_config_init(struct mc_board_config *cfg, const char *platform, struct mc_error *err)
{
    if (!cfg)
        return mc_seterr(err, MC_E_INVAL, "mc_board_config_init needs a configuration");
    memset(cfg, 0, sizeof *cfg);
    mc_machine_config_init(&cfg->machine);
    if (!platform)
        return mc_seterr(err, MC_E_INVAL, "the board configuration names no platform profile");
    const struct mc_cpu_profile *prof;
    mc_status st = mc_cpu_profile_find(platform, &prof, err);
    if (st)
        return st;
    cfg->machine.platform = prof->name;
    cfg->firmware = mc_psp_config_from_profile(prof, &cfg->fw, NULL) == MC_OK;
    cfg->hypervisor = cfg->firmware;
    cfg->pool_base = MC_BOARD_POOL_BASE;
    cfg->tme = prof->vendor == MC_VENDOR_INTEL;
    return MC_OK;
}

const struct mc_psp_config *mc_board_fw_config(const struct mc_board *b) { return b && b->psp ? &b->fw : NULL; }
uint64_t mc_board_fw_data(const struct mc_board *b) { return b && b->psp ? b->mbox + MC_BOARD_DATA_OFF : 0; }
struct mc_machine *mc_board_machine(struct mc_board *b) { return b ? b->m : NULL; }
const struct mc_cpu_profile *mc_board_profile(const struct mc_board *b) { return b ? b->prof : NULL; }
struct mc_psp *mc_board_psp(struct mc_board *b) { return b ? b->psp : NULL; }
struct mc_vmm *mc_board_vmm(struct mc_board *b) { return b ? b->vmm : NULL; }
struct mc_tme *mc_board_tme(struct mc_board *b) { return b ? b->tme : NULL; }
struct mc_rmp *mc_board_rmp(struct mc_board *b) { return b ? b->rmp : NULL; }

static mc_status vmm_fw(void *ctx, uint32_t cmd, void *buf, size_t len, uint32_t *fw_status, struct mc_error *err)
{
    return mc_board_fw(ctx, cmd, buf, len, fw_status, err);
}

static mc_status vmm_df_flush(void *ctx, uint32_t *fw_status, struct mc_error *err)
{
    return mc_board_df_flush(ctx, fw_status, err);
}

mc_status mc_board_create(const struct mc_board_config *cfg, struct mc_board **out, struct mc_error *err)
{
    if (!cfg || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_board_create needs a configuration and an output pointer");
    *out = NULL;
    if (cfg->hypervisor && !cfg->firmware)
        return mc_seterr(err, MC_E_INVAL, "the hypervisor needs the SEV firmware");
    struct mc_board *b = calloc(1, sizeof *b);
    if (!b)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for the board");
    mc_status st = mc_machine_create(&cfg->machine, &b->m, err);
    if (st)
        goto fail;
    b->prof = mc_machine_profile(b->m);
    uint64_t dram = mc_dram_size(mc_machine_dram(b->m));
    /* SEV-SNP: the RMP unit, and the RMP the BIOS reserves at the top of DRAM. */
    uint64_t rmp_base = 0, rmp_size = 0;
    struct mc_cpu_features feat;
    mc_cpu_decode(b->prof, &feat);
    if (feat.sev_snp) {
        rmp_size = cfg->rmp_size == MC_BOARD_RMP_AUTO ? mc_rmp_size_for(dram) : cfg->rmp_size;
        if (rmp_size && ((rmp_size & 0xFFFFF) || rmp_size >= dram)) {
            st = mc_seterr(err, MC_E_RANGE, "an RMP of 0x%llx bytes is not a 1 MiB multiple below the DRAM size",
                           (unsigned long long)rmp_size);
            goto fail;
        }
        rmp_base = rmp_size ? (dram - rmp_size) & ~0xFFFFFull : 0;
        if ((st = mc_rmp_create(b->m, rmp_base, rmp_size ? rmp_base + rmp_size - 1 : 0, &b->rmp, err)))
            goto fail;
    } else if (cfg->rmp_size) {
        st = mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' has no SEV-SNP: no RMP", b->prof->name);
        goto fail;
    }
    const uint64_t top = rmp_size ? rmp_base : dram; /* what the hypervisor's pool may use */
    /* The hypervisor's pool: as configured, or from pool_base to the end of DRAM when that
     * leaves room (else no hypervisor). */
    uint64_t pool = cfg->pool_base, size = cfg->pool_size;
    bool vmm = cfg->hypervisor && (size || (pool < top && top - pool >= MIN_POOL + 4096));
    if (vmm && !size)
        size = top - pool;
    if (vmm && rmp_size && pool < rmp_base + rmp_size && pool + size > rmp_base) {
        st = mc_seterr(err, MC_E_RANGE, "the hypervisor's pool overlaps the RMP at 0x%llx", (unsigned long long)rmp_base);
        goto fail;
    }
    if (cfg->firmware) {
        b->mbox = cfg->mbox_pa;
        if (!b->mbox && vmm) { /* the first page of the pool */
            b->mbox = pool;
            pool += 4096;
            size = size > 4096 ? size - 4096 : 0;
        } else if (!b->mbox) {
            b->mbox = MC_BOARD_MBOX_PA;
        } else if (vmm && b->mbox + 4096 > pool && b->mbox - pool < size) {
            st = mc_seterr(err, MC_E_RANGE, "the driver's page 0x%llx lies inside the hypervisor's pool",
                           (unsigned long long)b->mbox);
            goto fail;
        }
        if ((b->mbox & 0xFFFu) || b->mbox >= dram || dram - b->mbox < 4096) {
            st = mc_seterr(err, MC_E_RANGE, "the driver's page 0x%llx must be 4 KiB aligned and inside DRAM (0x%llx bytes)",
                           (unsigned long long)b->mbox, (unsigned long long)dram);
            goto fail;
        }
        b->fw = cfg->fw;
        b->port.m = b->m;
        b->port.rmp = b->rmp;
        mc_sev_port_init(&b->port, mc_machine_memctl(b->m), &b->mem);
        if ((st = mc_psp_create(&b->fw, &b->mem, mc_machine_rng(b->m), &b->psp, err)))
            goto fail;
    }
    if (vmm) {
        const struct mc_vmm_fw_ops ops = {b, vmm_fw, vmm_df_flush, b->mbox + MC_BOARD_DATA_OFF};
        if ((st = mc_vmm_create(b->m, &ops, pool, size, &b->vmm, err)))
            goto fail;
        mc_vmm_set_rmp(b->vmm, b->rmp);
    }
    if (cfg->tme && (st = mc_tme_attach(b->m, &b->tme, err)))
        goto fail;
    *out = b;
    return MC_OK;
fail:
    mc_board_destroy(b);
    return st;
}

void mc_board_destroy(struct mc_board *b)
{
    if (!b)
        return;
    mc_vmm_destroy(b->vmm);
    mc_psp_destroy(b->psp);
    mc_machine_destroy(b->m); /* holds pointers to the TME and RMP units until here */
    mc_tme_destroy(b->tme);
    mc_rmp_destroy(b->rmp);
    free(b);
}

/* ---- the host driver's mailbox ------------------------------------------------------------ */

static mc_status host_io(struct mc_board *b, uint64_t pa, void *buf, size_t len, bool write, struct mc_error *err)
{
    struct memctl_access a = {.addr = pa, .size = len, .kind = write ? MEMCTL_ACC_WRITE : MEMCTL_ACC_READ, .req = MEMCTL_REQ_HOST};
    struct mc_fault f;
    struct memctl *mc = mc_machine_memctl(b->m);
    return write ? memctl_write(mc, &a, buf, &f, err) : memctl_read(mc, &a, buf, &f, err);
}

mc_status mc_board_fw(struct mc_board *b, uint32_t cmd, void *buf, size_t len, uint32_t *fw_status,
                      struct mc_error *err)
{
    uint32_t st = 0xFFFF;
    if (fw_status)
        *fw_status = st;
    if (!b || (!buf && len))
        return mc_seterr(err, MC_E_INVAL, "mc_board_fw needs a board and a buffer for its length");
    if (!b->psp) {
        struct mc_psp_config c;
        mc_status s = mc_psp_config_from_profile(b->prof, &c, err); /* "platform '...' has no AMD SEV" */
        return s ? s : mc_seterr(err, MC_E_UNSUPPORTED, "this board was built without the SEV firmware");
    }
    if (len > MC_BOARD_CMD_MAX)
        return mc_seterr(err, MC_E_INVAL, "command buffer too large (%zu bytes; the driver takes at most %u)", len,
                         MC_BOARD_CMD_MAX);
    mc_status s = MC_OK;
    if (len) {
        s = host_io(b, b->mbox, buf, len, true, err);
        if (!s)
            s = memctl_clflush_range(mc_machine_memctl(b->m), b->mbox, len, err);
    }
    if (!s) {
        struct mc_error e = {0};
        s = mc_psp_command(b->psp, cmd, b->mbox, &st, err ? &e : NULL); /* no sentence nobody reads */
        if (!s && len)
            s = host_io(b, b->mbox, buf, len, false, err);
        if (!s && st != MC_FW_SUCCESS)
            s = mc_seterr_fw(err, st, "%s: %s: %s", mc_sev_cmd_name(cmd), mc_fw_status_name(st), e.msg);
    }
    if (fw_status)
        *fw_status = st;
    return s;
}

mc_status mc_board_wbinvd(struct mc_board *b, struct mc_error *err)
{
    if (!b)
        return mc_seterr(err, MC_E_INVAL, "mc_board_wbinvd needs a board");
    mc_status s = mc_machine_wbinvd(b->m, err);
    if (!s && b->psp)
        for (unsigned c = 0; c < b->fw.num_cores; c++)
            mc_psp_wbinvd(b->psp, c);
    return s;
}

mc_status mc_board_df_flush(struct mc_board *b, uint32_t *fw_status, struct mc_error *err)
{
    if (fw_status)
        *fw_status = 0xFFFF;
    mc_status s = mc_board_wbinvd(b, err);
    return s ? s : mc_board_fw(b, MC_SEV_CMD_DF_FLUSH, NULL, 0, fw_status, err);
}

/* ---- snapshots ------------------------------------------------------------------------------ */

struct mc_board_snapshot {
    const struct mc_board *owner;
    struct mc_machine_snap *m;
    struct mc_psp_snap *psp;
    struct mc_vmm_snap *vmm;
    struct mc_tme_snap *tme;
    struct mc_rmp_snap rmp;
};

void mc_board_snapshot_free(struct mc_board_snapshot *s)
{
    if (!s)
        return;
    mc_machine_snap_free(s->m);
    mc_psp_snap_free(s->psp);
    mc_vmm_snap_free(s->vmm);
    mc_tme_snap_free(s->tme);
    free(s);
}

mc_status mc_board_snapshot(struct mc_board *b, struct mc_board_snapshot **out, struct mc_error *err)
{
    if (!b || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_board_snapshot needs a board and an output pointer");
    *out = NULL;
    struct mc_board_snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for a board snapshot");
    /* Refusals first, so a refused snapshot changes nothing (the machine's forks the DRBG). */
    mc_status st = MC_OK;
    if (b->psp)
        st = mc_psp_snap_save(b->psp, &s->psp, err);
    if (!st && b->vmm)
        st = mc_vmm_snap_save(b->vmm, &s->vmm, err);
    if (!st && b->tme)
        st = mc_tme_snap_save(b->tme, &s->tme, err);
    if (!st)
        st = mc_machine_snap_save(b->m, &s->m, err);
    if (!st)
        mc_rmp_snap_save(b->rmp, &s->rmp);
    if (st) {
        mc_board_snapshot_free(s);
        return st;
    }
    s->owner = b;
    *out = s;
    return MC_OK;
}

mc_status mc_board_restore(struct mc_board *b, const struct mc_board_snapshot *s, struct mc_error *err)
{
    if (!b || !s)
        return mc_seterr(err, MC_E_INVAL, "mc_board_restore needs a board and a snapshot");
    if (s->owner != b)
        return mc_seterr(err, MC_E_INVAL, "the snapshot belongs to another board");
    mc_status st = MC_OK;
    if (b->vmm)
        st = mc_vmm_snap_restore(b->vmm, s->vmm, err); /* refuses while VMs are alive: first */
    if (!st)
        st = mc_machine_snap_restore(b->m, s->m, err);
    if (!st)
        mc_rmp_snap_restore(b->rmp, &s->rmp);
    if (!st && b->psp)
        st = mc_psp_snap_restore(b->psp, s->psp, err);
    if (!st && b->tme)
        st = mc_tme_snap_restore(b->tme, s->tme, err);
    return st;
}

/* ---- SEV-SNP ------------------------------------------------------------------------------ */

mc_status mc_board_snp_enable(struct mc_board *b, struct mc_error *err)
{
    if (!b)
        return mc_seterr(err, MC_E_INVAL, "mc_board_snp_enable needs a board");
    if (!b->rmp)
        return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' has no SEV-SNP", b->prof->name);
    if (mc_rmp_snp_enabled(b->rmp))
        return MC_OK;
    uint64_t base, end;
    mc_rmp_bounds(b->rmp, &base, &end);
    if (!base || !end)
        return mc_seterr(err, MC_E_STATE, "the BIOS reserved no RMP (RMP_BASE/RMP_END are zero)");
    struct memctl *mc = mc_machine_memctl(b->m);
    struct mc_dram *d = mc_machine_dram(b->m);
    /* Zero the table through the host's C=0 view. Lines still in the caches are written back first,
     * so a frame that was never written holds zeros and is left untouched (sparse DRAM). */
    mc_status st = mc_board_wbinvd(b, err);
    static const uint8_t zero[4096];
    for (uint64_t pa = base; !st && pa <= end && pa < mc_dram_size(d); pa += 4096) {
        if (!mc_dram_frame(d, pa >> 12, false))
            continue;
        struct memctl_access a = {.addr = pa, .size = 4096, .kind = MEMCTL_ACC_WRITE, .req = MEMCTL_REQ_HOST,
                              .flags = MEMCTL_ACC_F_STREAM};
        struct mc_fault f;
        st = memctl_write(mc, &a, zero, &f, err);
    }
    if (!st)
        st = mc_board_wbinvd(b, err);
    uint64_t syscfg = 0;
    struct mc_fault f;
    if (!st)
        st = mc_machine_rdmsr(b->m, MC_MSR_SYSCFG, &syscfg, &f, err);
    if (!st)
        st = mc_machine_wrmsr(b->m, MC_MSR_SYSCFG, syscfg | MC_SYSCFG_MTRR_FIX_DRAM_MOD_EN, &f, err);
    struct mc_cpu_features feat;
    mc_cpu_decode(b->prof, &feat);
    if (!st)
        st = mc_machine_wrmsr(b->m, MC_MSR_SYSCFG,
                              syscfg | MC_SYSCFG_MTRR_FIX_DRAM_MOD_EN | MC_SYSCFG_SNP_EN |
                                  (feat.vmpl ? MC_SYSCFG_VMPL_EN : 0),
                              &f, err);
    return st;
}

mc_status mc_board_snp_init(struct mc_board *b, uint32_t *fw_status, struct mc_error *err)
{
    if (fw_status)
        *fw_status = 0xFFFF;
    mc_status st = mc_board_snp_enable(b, err);
    uint64_t hwcr = 0;
    struct mc_fault f;
    if (!st)
        st = mc_machine_rdmsr(b->m, MC_MSR_HWCR, &hwcr, &f, err);
    if (!st && !(hwcr & MC_HWCR_SMMLOCK)) /* the BIOS locks SMM before the OS runs */
        st = mc_machine_wrmsr(b->m, MC_MSR_HWCR, hwcr | MC_HWCR_SMMLOCK, &f, err);
    if (!st)
        st = mc_board_fw(b, MC_SEV_CMD_SNP_INIT, NULL, 0, fw_status, err);
    if (!st)
        st = mc_board_df_flush(b, fw_status, err);
    return st;
}

mc_status mc_board_snp_out_cmd(struct mc_board *b, uint32_t cmd, void *buf, size_t len, uint64_t page, void *out,
                               size_t out_len, uint32_t *fw_status, struct mc_error *err)
{
    if (fw_status)
        *fw_status = 0xFFFF;
    if (!b || !out || (page & 0xFFF) || out_len > 4096)
        return mc_seterr(err, MC_E_INVAL, "mc_board_snp_out_cmd needs a board and a 4 KiB aligned page");
    if (!b->psp || !b->rmp)
        return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' has no SEV-SNP", b->prof->name);
    /* Once SNP is INIT the firmware writes only to Firmware pages (Linux's snp_alloc_firmware_page). */
    bool fwpage = mc_psp_snp_state(b->psp) == 1 /* MC_SNP_PSTATE_INIT */;
    const struct mc_rmp_state firmware = {.assigned = 1, .immutable = 1}, shared = {0};
    uint32_t eax = 0;
    struct mc_fault f;
    mc_status st = MC_OK;
    if (fwpage && !(st = mc_rmp_rmpupdate(b->rmp, page, &firmware, &eax, &f, err)) && eax)
        st = mc_seterr(err, MC_E_STATE, "RMPUPDATE 0x%llx to Firmware: %s", (unsigned long long)page,
                       mc_rmp_code_name(eax));
    if (st)
        return st;
    st = mc_board_fw(b, cmd, buf, len, fw_status, err);
    if (!st)
        st = mc_machine_phys_read(b->m, page, out, out_len, &f, err);
    if (fwpage) { /* give the page back: PAGE_RECLAIM, then RMPUPDATE to Hypervisor */
        uint32_t keep = fw_status ? *fw_status : 0;
        uint8_t pc[8];
        for (int i = 0; i < 8; i++)
            pc[i] = (uint8_t)(page >> (8 * i));
        mc_status rs = mc_board_fw(b, MC_SEV_CMD_SNP_PAGE_RECLAIM, pc, sizeof pc, NULL, st ? NULL : err);
        if (!rs && !(rs = mc_rmp_rmpupdate(b->rmp, page, &shared, &eax, &f, st ? NULL : err)) && eax)
            rs = mc_seterr(st ? NULL : err, MC_E_STATE, "RMPUPDATE 0x%llx to Hypervisor: %s",
                           (unsigned long long)page, mc_rmp_code_name(eax));
        if (fw_status)
            *fw_status = keep;
        if (!st)
            st = rs;
    }
    return st;
}

mc_status mc_board_snp_status(struct mc_board *b, uint64_t page, uint8_t out[0x20], uint32_t *fw_status,
                              struct mc_error *err)
{
    uint8_t cmd[8];
    for (int i = 0; i < 8; i++)
        cmd[i] = (uint8_t)(page >> (8 * i));
    return mc_board_snp_out_cmd(b, MC_SEV_CMD_SNP_PLATFORM_STATUS, cmd, sizeof cmd, page, out, 0x20, fw_status, err);
}
