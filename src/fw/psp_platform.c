/* Platform commands: INIT, INIT_EX, SHUTDOWN, PLATFORM_RESET, PLATFORM_STATUS, PEK_GEN, PEK_CSR,
 * PEK_CERT_IMPORT, PDH_CERT_EXPORT, PDH_GEN, DF_FLUSH, GET_ID, NOP. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/cpu.h>

#include "fw/psp_cmds.h"
#include "fw/psp_int.h"
#include "fw/psp_rmp.h"

#define F(S, f) offsetof(struct S, f)

/* A staged copy of the persistent state: commands change the copy, persist it, and only then
 * commit it (so a failed command or a failed save changes nothing). */
static struct psp_nv *nv_stage(const struct mc_psp *psp)
{
    struct psp_nv *n = malloc(sizeof *n);
    if (n)
        memcpy(n, &psp->nv, sizeof *n);
    return n;
}

static void nv_drop(struct psp_nv *n)
{
    if (n) {
        mc_wipe(n, sizeof *n);
        free(n);
    }
}

static uint32_t nv_commit(struct mc_psp *psp, struct psp_nv *n, struct mc_error *err)
{
    struct mc_error why = {0};
    if (psp_nv_save(psp, n, &why) != MC_OK) {
        nv_drop(n);
        psp_id_reload(psp, NULL); /* back to the committed identity */
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "cannot persist the firmware state: %s", why.msg);
    }
    memcpy(&psp->nv, n, sizeof *n);
    nv_drop(n);
    return MC_FW_SUCCESS;
}

/* SEV's INIT after SNP: when the cores have SNP enabled, the RMP must have been initialised by an
 * SNP_INIT first (AMD's firmware: INVALID_PLATFORM_STATE), so SEV can never touch the RMP. */
static uint32_t check_snp_first(struct mc_psp *psp, struct mc_error *err)
{
    struct mc_psp_snp_cpu cpu;
    if (!psp->cfg.snp || !psp->mem.snp_cpu || psp->mem.snp_cpu(psp->mem.ctx, &cpu, NULL) != MC_OK)
        return MC_FW_SUCCESS;
    if ((cpu.syscfg & MC_SYSCFG_SNP_EN) && !psp->snp.rmp_init)
        return psp_fail(err, MC_FW_INVALID_PLATFORM_STATE,
                        "SNP is enabled on the cores (SYSCFG.SNP_EN) but the RMP is not initialised: SNP_INIT first");
    return MC_FW_SUCCESS;
}

static uint32_t check_init_flags(struct mc_psp *psp, uint32_t flags, uint64_t tmr, uint32_t tmr_len,
                                 struct mc_error *err)
{
    /* UNCONFIRMED whether later spec versions define more INIT flags; AMD's Genoa firmware rejects
     * every bit but ES with INVALID_CONFIG, and so do we. */
    if (flags & ~MC_SEV_INIT_FLAG_ES)
        return psp_fail(err, MC_FW_INVALID_CONFIG, "INIT flags 0x%x have bits other than SEV-ES set", flags);
    uint32_t st0 = check_snp_first(psp, err);
    if (st0)
        return st0;
    if (!(flags & MC_SEV_INIT_FLAG_ES))
        return MC_FW_SUCCESS; /* the TMR is ignored without SEV-ES */
    if (!psp->cfg.es_supported)
        return psp_fail(err, MC_FW_INVALID_CONFIG, "this platform has no SEV-ES");
    /* With the SNP RMP initialised the TMR is 2 MiB, 2 MiB aligned (SEV API; AMD's firmware). */
    uint32_t want = psp->snp.rmp_init ? 2 * MC_SEV_TMR_LEN : MC_SEV_TMR_LEN;
    if (tmr_len != want)
        return psp_fail(err, MC_FW_INVALID_LENGTH, "the SEV-ES TMR must be %u MiB, not 0x%x bytes", want >> 20, tmr_len);
    enum mc_psp_dom dom;
    uint64_t pa;
    if (tmr & (want - 1))
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "the SEV-ES TMR at 0x%llx is not %u MiB aligned",
                        (unsigned long long)tmr, want >> 20);
    uint32_t st = psp_host_addr(psp, tmr, tmr_len, &dom, &pa, err);
    return st ? st : psp_rmp_fw_writable(psp, tmr, tmr_len, "the SEV-ES TMR", err);
}



/* Common tail of INIT and INIT_EX: persist (INIT_EX writes its NV area back), commit. The
 * identity keys are created on first use (psp_id_get), so INIT itself stays fast; AMD's rule
 * "create OCA/PEK/PDH if absent" is met before any command can observe them. */
static uint32_t finish_init(struct mc_psp *psp, struct psp_nv *n, bool nv_changed, uint32_t flags, uint64_t tmr,
                            uint32_t tmr_len, bool nv_in_dram, uint64_t nv_paddr, struct mc_error *err)
{
    uint32_t st;
    bool old_in_dram = psp->nv_in_dram;
    uint64_t old_paddr = psp->nv_paddr;
    psp->nv_in_dram = nv_in_dram;
    psp->nv_paddr = nv_paddr;
    if (nv_changed) {
        st = nv_commit(psp, n, err);
        if (st == MC_FW_SUCCESS)
            st = psp_id_reload(psp, err); /* adopt the identity of the NV area */
        if (st) {
            psp->nv_in_dram = old_in_dram;
            psp->nv_paddr = old_paddr;
            return st;
        }
    } else {
        nv_drop(n);
    }
    psp->es_init = (flags & MC_SEV_INIT_FLAG_ES) != 0;
    psp->tmr_paddr = psp->es_init ? tmr : 0;
    psp->tmr_len = psp->es_init ? tmr_len : 0;
    /* Every SEV ASID is dirty after INIT: the host must WBINVD every core and DF_FLUSH. After
     * SNP_INIT the ASIDs are SNP's too and already handled (AMD's firmware resets them only when
     * SNP is UNINIT). */
    if (psp->snp.state == MC_SNP_PSTATE_UNINIT) {
        memset(psp->asid_dirty + 1, 1, psp->cfg.max_asid);
        psp->wbinvd_needed = psp->cfg.num_cores == 64 ? ~0ull : ((1ull << psp->cfg.num_cores) - 1);
    }
    psp_set_pstate(psp, MC_SEV_PSTATE_INIT);
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_init)
{
    (void)g;
    uint32_t flags = mc_le32(buf + F(mc_sev_init, flags));
    uint64_t tmr = mc_le64(buf + F(mc_sev_init, tmr_paddr));
    uint32_t tmr_len = mc_le32(buf + F(mc_sev_init, tmr_len));
    if (mc_le32(buf + F(mc_sev_init, rsvd)))
        return psp_fail(err, MC_FW_INVALID_CONFIG, "INIT reserved field is not zero");
    uint32_t st = check_init_flags(psp, flags, tmr, tmr_len, err);
    if (st)
        return st;
    struct psp_nv *n = nv_stage(psp);
    if (!n)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    return finish_init(psp, n, false, flags, tmr, tmr_len, false, 0, err);
}

PSP_HANDLER(psp_cmd_init_ex)
{
    (void)g;
    if (mc_le32(buf + F(mc_sev_init_ex, length)) != sizeof(struct mc_sev_init_ex))
        return psp_fail(err, MC_FW_INVALID_LENGTH, "INIT_EX length field must be 0x24");
    uint32_t flags = mc_le32(buf + F(mc_sev_init_ex, flags));
    uint64_t tmr = mc_le64(buf + F(mc_sev_init_ex, tmr_paddr));
    uint32_t tmr_len = mc_le32(buf + F(mc_sev_init_ex, tmr_len));
    uint64_t nv_pa = mc_le64(buf + F(mc_sev_init_ex, nv_paddr));
    uint32_t nv_len = mc_le32(buf + F(mc_sev_init_ex, nv_len));
    if (mc_le32(buf + F(mc_sev_init_ex, rsvd)))
        return psp_fail(err, MC_FW_INVALID_CONFIG, "INIT_EX reserved field is not zero");
    uint32_t st = check_init_flags(psp, flags, tmr, tmr_len, err);
    if (st)
        return st;
    struct psp_nv *n = nv_stage(psp);
    if (!n)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    if (nv_pa == 0) /* the on-chip store (our state file) */
        return finish_init(psp, n, false, flags, tmr, tmr_len, false, 0, err);
    enum mc_psp_dom dom;
    uint64_t pa;
    if (nv_pa & 0xFFFu) {
        nv_drop(n);
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "the NV area at 0x%llx is not 4 KiB aligned",
                        (unsigned long long)nv_pa);
    }
    if (nv_len != MC_SEV_NV_LEN) {
        nv_drop(n);
        return psp_fail(err, MC_FW_INVALID_LENGTH, "the NV area must be 32 KiB, not 0x%x bytes", nv_len);
    }
    st = psp_host_addr(psp, nv_pa, nv_len, &dom, &pa, err);
    if (!st)
        st = psp_rmp_fw_writable(psp, nv_pa, nv_len, "the INIT_EX NV area", err);
    if (st) {
        nv_drop(n);
        return st;
    }
    if (flags & MC_SEV_INIT_FLAG_ES) {
        uint64_t t = tmr & ~(psp->mem.cbit_pos ? 1ull << psp->mem.cbit_pos : 0);
        if (pa < t + tmr_len && t < pa + nv_len) {
            nv_drop(n);
            return psp_fail(err, MC_FW_INVALID_ADDRESS, "the NV area overlaps the TMR");
        }
    }
    uint8_t *img = malloc(MC_SEV_NV_LEN);
    if (!img) {
        nv_drop(n);
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    }
    st = psp_host_read(psp, nv_pa, img, MC_SEV_NV_LEN, err);
    if (st == MC_FW_SUCCESS) {
        size_t i = 0;
        while (i < MC_SEV_NV_LEN && img[i] == 0xFF)
            i++;
        if (i == MC_SEV_NV_LEN) { /* a fresh NV file: no identity yet */
            n->owned = 0;
            n->ident_len = 0;
            mc_wipe(n->ident, sizeof n->ident);
        } else {
            struct mc_error e2 = {0};
            if (psp_nv_decode(psp, psp->nv.chip_secret, img, MC_SEV_NV_LEN, n, "the INIT_EX NV area", &e2) != MC_OK ||
                (n->ident_len && !psp_id_blob_ok(n->ident, n->ident_len, &e2)))
                st = psp_fail(err, MC_FW_SECURE_DATA_INVALID, "%s", e2.msg);
        }
    }
    mc_wipe(img, MC_SEV_NV_LEN);
    free(img);
    if (st) {
        nv_drop(n);
        return st;
    }
    return finish_init(psp, n, true, flags, tmr, tmr_len, true, nv_pa, err);
}

PSP_HANDLER(psp_cmd_shutdown)
{
    (void)buf;
    (void)g;
    uint32_t st = MC_FW_SUCCESS;
    for (uint32_t h = 1; h <= psp->cfg.max_guests; h++) {
        struct psp_guest *x = psp->guests[h];
        if (!x)
            continue;
        if (x->asid) {
            if (psp->mem.unbind_key(psp->mem.ctx, x->asid, NULL) != MC_OK)
                st = MC_FW_HWERROR_UNSAFE;
            psp->asid_owner[x->asid] = 0;
            psp->asid_dirty[x->asid] = 1;
        }
        psp_set_gstate(psp, x, MC_SEV_GSTATE_UNINIT);
        psp_guest_free(x);
        psp->guests[h] = NULL;
    }
    psp->guest_count = 0;
    psp->es_init = false;
    psp->tmr_paddr = 0;
    psp->tmr_len = 0;
    psp->nv_in_dram = false;
    psp->nv_paddr = 0;
    psp_set_pstate(psp, MC_SEV_PSTATE_UNINIT);
    if (st)
        psp_fail(err, st, "a guest key could not be removed from the memory controller");
    return st;
}

/* The end of an identity change made on a staged copy n of the persistent state: commit it, or
 * drop it and (when the live identity was changed) reload it, so that a failed command changes
 * nothing. */
static uint32_t id_change_done(struct mc_psp *psp, struct psp_nv *n, uint32_t st, struct mc_error *err)
{
    if (st) {
        nv_drop(n);
        if (psp->id_changed)
            psp_id_reload(psp, NULL);
        return st;
    }
    st = nv_commit(psp, n, err);
    psp->id_changed = false;
    return st;
}

PSP_HANDLER(psp_cmd_platform_reset)
{
    (void)buf;
    (void)g;
    struct psp_nv *n = nv_stage(psp);
    if (!n)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    return id_change_done(psp, n, psp_id_reset(psp, n, err), err);
}

PSP_HANDLER(psp_cmd_platform_status)
{
    (void)g;
    (void)err;
    memset(buf, 0, sizeof(struct mc_sev_platform_status));
    buf[F(mc_sev_platform_status, api_major)] = psp->cfg.api_major;
    buf[F(mc_sev_platform_status, api_minor)] = psp->cfg.api_minor;
    buf[F(mc_sev_platform_status, state)] = (uint8_t)psp->pstate;
    if (psp->pstate != MC_SEV_PSTATE_UNINIT) {
        buf[F(mc_sev_platform_status, owner)] = psp->nv.owned ? 1 : 0; /* kept in step with the identity */
        mc_put_le16(buf + F(mc_sev_platform_status, config), psp->es_init ? 1 : 0);
        mc_put_le32(buf + F(mc_sev_platform_status, guest_count), psp->guest_count);
    }
    buf[F(mc_sev_platform_status, build)] = psp->cfg.build;
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_pek_gen)
{
    (void)buf;
    (void)g;
    struct psp_nv *n = nv_stage(psp);
    if (!n)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    return id_change_done(psp, n, psp_id_pek_gen(psp, n, err), err);
}

PSP_HANDLER(psp_cmd_pdh_gen)
{
    (void)buf;
    (void)g;
    struct psp_nv *n = nv_stage(psp);
    if (!n)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    return id_change_done(psp, n, psp_id_pdh_gen(psp, n, err), err);
}

PSP_HANDLER(psp_cmd_pek_csr)
{
    (void)g;
    uint64_t pa;
    uint32_t st = psp_out_buffer(psp, buf, F(mc_sev_addr_len, paddr), F(mc_sev_addr_len, len), MC_SEV_CERT_LEN,
                                 "PEK_CSR", &pa, err);
    if (st)
        return st;
    uint8_t csr[MC_SEV_CERT_LEN];
    st = psp_id_pek_csr(psp, csr, err);
    if (st == MC_FW_SUCCESS)
        st = psp_host_write(psp, pa, csr, sizeof csr, err);
    return st;
}

PSP_HANDLER(psp_cmd_pek_cert_import)
{
    (void)g;
    if (psp->nv.owned)
        return psp_fail(err, MC_FW_ALREADY_OWNED, "the platform is already externally owned");
    uint32_t pek_len = mc_le32(buf + F(mc_sev_pek_cert_import, pek_len));
    uint32_t oca_len = mc_le32(buf + F(mc_sev_pek_cert_import, oca_len));
    if (pek_len != MC_SEV_CERT_LEN || oca_len != MC_SEV_CERT_LEN)
        return psp_fail(err, MC_FW_INVALID_LENGTH, "PEK and OCA certificates must be 0x%x bytes (got 0x%x, 0x%x)",
                        MC_SEV_CERT_LEN, pek_len, oca_len);
    uint8_t pek[MC_SEV_CERT_LEN], oca[MC_SEV_CERT_LEN];
    uint32_t st = psp_host_read(psp, mc_le64(buf + F(mc_sev_pek_cert_import, pek_paddr)), pek, sizeof pek, err);
    if (!st)
        st = psp_host_read(psp, mc_le64(buf + F(mc_sev_pek_cert_import, oca_paddr)), oca, sizeof oca, err);
    if (st)
        return st;
    struct psp_nv *n = nv_stage(psp);
    if (!n)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    return id_change_done(psp, n, psp_id_pek_import(psp, n, pek, oca, err), err);
}

PSP_HANDLER(psp_cmd_pdh_cert_export)
{
    (void)g;
    uint64_t pdh_pa = mc_le64(buf + F(mc_sev_pdh_cert_export, pdh_paddr));
    uint64_t chain_pa = mc_le64(buf + F(mc_sev_pdh_cert_export, chain_paddr));
    uint32_t pdh_len = mc_le32(buf + F(mc_sev_pdh_cert_export, pdh_len));
    uint32_t chain_len = mc_le32(buf + F(mc_sev_pdh_cert_export, chain_len));
    mc_put_le32(buf + F(mc_sev_pdh_cert_export, pdh_len), MC_SEV_CERT_LEN);
    mc_put_le32(buf + F(mc_sev_pdh_cert_export, chain_len), MC_SEV_CHAIN_LEN);
    if (pdh_len < MC_SEV_CERT_LEN || chain_len < MC_SEV_CHAIN_LEN)
        return psp_fail(err, MC_FW_INVALID_LENGTH, "PDH_CERT_EXPORT needs 0x%x and 0x%x bytes (got 0x%x, 0x%x)",
                        MC_SEV_CERT_LEN, MC_SEV_CHAIN_LEN, pdh_len, chain_len);
    enum mc_psp_dom dom;
    uint64_t pa;
    uint32_t st = psp_host_addr(psp, pdh_pa, MC_SEV_CERT_LEN, &dom, &pa, err);
    if (!st)
        st = psp_host_addr(psp, chain_pa, MC_SEV_CHAIN_LEN, &dom, &pa, err);
    if (!st)
        st = psp_rmp_fw_writable(psp, pdh_pa, MC_SEV_CERT_LEN, "PDH_CERT_EXPORT", err);
    if (!st)
        st = psp_rmp_fw_writable(psp, chain_pa, MC_SEV_CHAIN_LEN, "PDH_CERT_EXPORT", err);
    if (st)
        return st;
    uint8_t *pdh = malloc(MC_SEV_CERT_LEN + MC_SEV_CHAIN_LEN);
    if (!pdh)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    uint8_t *chain = pdh + MC_SEV_CERT_LEN;
    st = psp_id_pdh_export(psp, pdh, chain, err);
    if (!st)
        st = psp_host_write(psp, pdh_pa, pdh, MC_SEV_CERT_LEN, err);
    if (!st)
        st = psp_host_write(psp, chain_pa, chain, MC_SEV_CHAIN_LEN, err);
    free(pdh);
    return st;
}

PSP_HANDLER(psp_cmd_df_flush)
{
    (void)buf;
    (void)g;
    if (psp->wbinvd_needed)
        return psp_fail(err, MC_FW_WBINVD_REQUIRED, "core(s) 0x%llx have not executed WBINVD since ASIDs became dirty",
                        (unsigned long long)psp->wbinvd_needed);
    memset(psp->asid_dirty, 0, psp->cfg.max_asid + 1);
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_get_id)
{
    (void)g;
    uint64_t pa;
    uint32_t st = psp_out_buffer(psp, buf, F(mc_sev_addr_len, paddr), F(mc_sev_addr_len, len), MC_SEV_ID_LEN,
                                 "GET_ID", &pa, err);
    if (st)
        return st;
    uint8_t id[MC_SEV_ID_LEN];
    st = psp_id_get_id(psp, id, err);
    if (!st)
        st = psp_host_write(psp, pa, id, sizeof id, err);
    return st;
}

PSP_HANDLER(psp_cmd_nop)
{
    (void)psp;
    (void)buf;
    (void)g;
    (void)err;
    return MC_FW_SUCCESS;
}
