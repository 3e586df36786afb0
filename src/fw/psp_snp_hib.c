/* SEV-SNP guest hibernation (memcrypt/psp.h "SEV-SNP guest hibernation"): the firmware's half of
 * saving a running SNP guest to a file and continuing it later on the same chip. The SNP ABI has no
 * such command; this is what a hibernating platform would need: the frames stay ciphertext, their
 * RMP entries and the guest context are vouched for by the chip (sealed under a key derived from
 * the chip secret), and nothing changes on import until every check passed.
 *
 * Sealed blob (MC_PSP_HIB_SEALED bytes): 00 IV [12] · 0C ciphertext [SEALED_PLAIN] · tag [16] ·
 * zero to the end. Plaintext: 000 the context as its page encodes it [PSP_GCTX_LEN] · SHA-384 of
 * every record in order [48] · u64 record count · u64 guest RAM's old host address.
 * Record (MC_PSP_HIB_REC bytes): 00 u32 type (PRIVATE, VMSA) · 04 u32 vCPU (VMSA; else 0) · 08 u64
 * GPA (PRIVATE: in guest RAM; VMSA: the RMP entry's GPA) · 10 u64 the frame's old host address (its
 * XTS tweak) · 18 u32 flags (bit 0 Validated) · 1C VMPL0..3 permission masks [4] · 20 the frame.
 */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/crypto.h>
#include <memcrypt/engine.h>
#include <memcrypt/rmp.h>

#include "crypto/crypto.h"
#include "crypto/kdf.h"
#include "fw/psp_snp.h"

#define PG 4096ull
#define SEALED_PLAIN (PSP_GCTX_LEN + 48 + 16)
#define O_DIGEST PSP_GCTX_LEN
#define O_NREC (PSP_GCTX_LEN + 48)
#define O_OLDSPA (PSP_GCTX_LEN + 56)
#define R_TYPE 0x00
#define R_VCPU 0x04
#define R_GPA 0x08
#define R_SPA 0x10
#define R_FLAGS 0x18
#define R_PERM 0x1C
#define R_VALIDATED 1u
_Static_assert(12 + SEALED_PLAIN + 16 <= MC_PSP_HIB_SEALED, "the sealed context fits its room");
_Static_assert(R_PERM + 4 == MC_PSP_HIB_REC_HDR, "record header");
_Static_assert(MC_PSP_HIB_REC == MC_PSP_HIB_REC_HDR + PG, "a record is its header and one frame");

static mc_status hib_key(const struct mc_psp *psp, uint8_t key[32], struct mc_error *err)
{
    return mc_kdf_sev(psp->nv.chip_secret, sizeof psp->nv.chip_secret, "memcrypt-snp-hibernate",
                      (const uint8_t *)psp->platform, strlen(psp->platform), key, 32, err);
}

static mc_status fwerr(struct mc_error *err, uint32_t st, uint32_t *fw_status)
{
    (void)err; /* psp_fail filled it */
    if (fw_status)
        *fw_status = st;
    return MC_E_FIRMWARE;
}

static bool snp_ready(const struct mc_psp *psp) { return psp->cfg.snp && psp->mem.rmp && psp->snp.state == MC_SNP_PSTATE_INIT; }

static void rec_header(uint8_t h[MC_PSP_HIB_REC_HDR], uint32_t type, uint32_t vcpu, uint64_t gpa, uint64_t spa,
                       const struct mc_rmp_entry *e)
{
    memset(h, 0, MC_PSP_HIB_REC_HDR);
    mc_put_le32(h + R_TYPE, type);
    mc_put_le32(h + R_VCPU, vcpu);
    mc_put_le64(h + R_GPA, gpa);
    mc_put_le64(h + R_SPA, spa);
    mc_put_le32(h + R_FLAGS, e->validated ? R_VALIDATED : 0);
    memcpy(h + R_PERM, e->perm, 4);
}

mc_status mc_psp_snp_hib_export(struct mc_psp *psp, const struct mc_psp_hib_guest *g, const uint8_t *aad,
                                size_t aad_len, mc_psp_hib_sink w, void *wctx, uint64_t *nrec,
                                uint8_t sealed[MC_PSP_HIB_SEALED], struct mc_error *err)
{
    if (!psp || !g || !w || !nrec || !sealed || (!aad && aad_len) || g->nvcpu == 0 || g->nvcpu > 64 ||
        (g->mem_spa | g->mem_size) & (PG - 1))
        return mc_seterr(err, MC_E_INVAL, "hibernating an SNP guest needs its context, RAM and vCPUs");
    if (!snp_ready(psp))
        return fwerr(err, psp_fail(err, MC_FW_INVALID_PLATFORM_STATE, "SNP is not initialised"), NULL);
    uint64_t pa;
    struct mc_rmp_entry e;
    enum mc_rmp_page_state ps;
    struct psp_gctx c;
    uint32_t st = psp_gctx_page(psp, g->gctx_pa, &pa, &e, err);
    if (!st)
        st = psp_gctx_open(psp, pa, &c, err);
    if (st)
        return fwerr(err, st, NULL);
    mc_status s = MC_OK;
    if (c.state != MC_SNP_GSTATE_RUNNING || !c.active)
        s = fwerr(err, psp_fail(err, MC_FW_INVALID_GUEST_STATE, "only a running guest can be hibernated"), NULL);
    struct mc_hashctx *h = NULL;
    uint8_t *rec = malloc(MC_PSP_HIB_REC), plain[SEALED_PLAIN], key[32];
    if (!s && !rec)
        s = mc_seterr(err, MC_E_NOMEM, "out of memory");
    if (!s)
        s = mc_hashctx_create("SHA384", &h, err);
    uint64_t n = 0;
    /* Guest RAM (the hypervisor's list, or every page), then the VMSA pages: every page assigned to
     * the guest's ASID. */
    uint64_t count = g->pages ? g->npages : g->mem_size / PG, prev = 0;
    for (uint64_t k = 0; !s && k < count; k++) {
        uint64_t off = g->pages ? g->pages[k] : k * PG;
        if ((off & (PG - 1)) || off >= g->mem_size || (k && off <= prev)) {
            s = mc_seterr(err, MC_E_INVAL, "the page list is not ascending page-aligned GPAs of guest RAM");
            break;
        }
        prev = off;
        uint64_t spa = g->mem_spa + off;
        if ((st = psp_rmp_get(psp, spa, &e, &ps, err))) {
            s = fwerr(err, st, NULL);
            break;
        }
        if (!e.assigned || e.asid != c.asid)
            continue;
        if (e.vmsa) {
            s = mc_seterr(err, MC_E_STATE,
                          "guest page 0x%llx is a VMSA page the guest made (RMPADJUST with the VMSA bit): guest-made "
                          "VMSAs cannot be hibernated",
                          (unsigned long long)off);
            break;
        }
        if (e.gpa != off || e.large || e.immutable) {
            s = mc_seterr(err, MC_E_STATE,
                          "guest page 0x%llx cannot be hibernated: its RMP entry is %s at GPA 0x%llx (only validated or "
                          "unvalidated 4 KiB private pages at their own GPA are)",
                          (unsigned long long)off, mc_rmp_page_state_name(ps), (unsigned long long)e.gpa);
            break;
        }
        rec_header(rec, MC_PSP_HIB_PRIVATE, 0, off, spa, &e);
        if (psp->mem.read(psp->mem.ctx, MC_PSP_DOM_SHARED, 0, spa, rec + MC_PSP_HIB_REC_HDR, PG, err) ||
            (s = mc_hashctx_update(h, rec, MC_PSP_HIB_REC, err)) || (s = w(wctx, rec, MC_PSP_HIB_REC, err))) {
            s = s ? s : MC_E_IO;
            break;
        }
        n++;
    }
    for (unsigned i = 0; !s && i < g->nvcpu; i++) {
        uint64_t spa = g->vmsa_spa[i];
        if (!spa)
            continue;
        if ((st = psp_rmp_get(psp, spa, &e, &ps, err))) {
            s = fwerr(err, st, NULL);
            break;
        }
        if (!e.assigned || e.asid != c.asid || !e.vmsa || e.large || e.immutable) {
            s = mc_seterr(err, MC_E_STATE, "vCPU %u's VMSA page 0x%llx is not the guest's VMSA page (%s)", i,
                          (unsigned long long)spa, mc_rmp_page_state_name(ps));
            break;
        }
        rec_header(rec, MC_PSP_HIB_VMSA, i, e.gpa, spa, &e);
        if (psp->mem.read(psp->mem.ctx, MC_PSP_DOM_SHARED, 0, spa, rec + MC_PSP_HIB_REC_HDR, PG, err) ||
            (s = mc_hashctx_update(h, rec, MC_PSP_HIB_REC, err)) || (s = w(wctx, rec, MC_PSP_HIB_REC, err))) {
            s = s ? s : MC_E_IO;
            break;
        }
        n++;
    }
    /* Every page of the ASID was found (the RMP keeps a count per ASID). */
    if (!s && n != psp_rmp_asid_count(psp, c.asid))
        s = mc_seterr(err, MC_E_STATE,
                      "the guest has %llu pages outside its RAM and VMSAs (ASID %u owns %llu); they cannot be hibernated",
                      (unsigned long long)(psp_rmp_asid_count(psp, c.asid) - n), c.asid,
                      (unsigned long long)psp_rmp_asid_count(psp, c.asid));
    if (!s) {
        memset(plain, 0, sizeof plain);
        psp_gctx_encode(&c, plain);
        mc_put_le64(plain + O_NREC, n);
        mc_put_le64(plain + O_OLDSPA, g->mem_spa);
        s = mc_hashctx_final(h, plain + O_DIGEST, err);
    }
    memset(sealed, 0, MC_PSP_HIB_SEALED);
    if (!s)
        s = mc_rng_bytes(psp->rng, sealed, 12, err);
    if (!s)
        s = hib_key(psp, key, err);
    if (!s)
        s = mc_aes256_gcm_seal(key, sealed, aad, aad_len, plain, SEALED_PLAIN, sealed + 12, sealed + 12 + SEALED_PLAIN,
                               err);
    if (!s)
        *nrec = n;
    mc_wipe(key, sizeof key);
    mc_wipe(plain, sizeof plain);
    psp_gctx_wipe(&c);
    mc_hashctx_destroy(h);
    if (rec)
        mc_wipe(rec, MC_PSP_HIB_REC);
    free(rec);
    return s;
}

static mc_status bad(struct mc_error *err, uint64_t i, const char *what)
{
    return mc_seterr(err, MC_E_FORMAT, "hibernated guest record %llu: %s", (unsigned long long)i, what);
}

/* Where record r goes on this platform; every check of a record before anything changes. */
static mc_status rec_check(struct mc_psp *psp, const struct mc_psp_hib_guest *g, const uint8_t *r, uint64_t i,
                           uint8_t *seen, uint64_t *vmsa_seen, uint64_t *dst, uint32_t *fw_status, struct mc_error *err)
{
    uint32_t type = mc_le32(r + R_TYPE), vcpu = mc_le32(r + R_VCPU), flags = mc_le32(r + R_FLAGS);
    uint64_t gpa = mc_le64(r + R_GPA), spa = mc_le64(r + R_SPA);
    if (flags & ~R_VALIDATED)
        return bad(err, i, "unknown flags");
    if ((gpa | spa) & (PG - 1))
        return bad(err, i, "addresses are not page aligned");
    for (int k = 0; k < 4; k++)
        if (r[R_PERM + k] & 0xE0)
            return bad(err, i, "reserved VMPL permission bits are set");
    if (type == MC_PSP_HIB_PRIVATE) {
        if (vcpu || gpa >= g->mem_size)
            return bad(err, i, "a private page lies outside guest RAM");
        if (seen[gpa / PG / 8] & (1u << (gpa / PG % 8)))
            return bad(err, i, "a guest page appears twice");
        seen[gpa / PG / 8] |= (uint8_t)(1u << (gpa / PG % 8));
        *dst = g->mem_spa + gpa;
    } else if (type == MC_PSP_HIB_VMSA) {
        if (vcpu >= g->nvcpu || !g->vmsa_spa[vcpu] || (*vmsa_seen & (1ull << vcpu)))
            return bad(err, i, "a VMSA page names no vCPU with a VMSA page, or one twice");
        *vmsa_seen |= 1ull << vcpu;
        *dst = g->vmsa_spa[vcpu];
    } else {
        return bad(err, i, "unknown record type");
    }
    struct mc_rmp_entry e;
    enum mc_rmp_page_state ps;
    uint32_t st = psp_rmp_get(psp, *dst, &e, &ps, err);
    if (!st && ps != MC_RMP_PS_HYPERVISOR)
        st = psp_fail(err, MC_FW_INVALID_PAGE_STATE, "the page 0x%llx for guest page 0x%llx is %s, not a Hypervisor page",
                      (unsigned long long)*dst, (unsigned long long)gpa, mc_rmp_page_state_name(ps));
    return st ? fwerr(err, st, fw_status) : MC_OK;
}

mc_status mc_psp_snp_hib_import(struct mc_psp *psp, const struct mc_psp_hib_guest *g, const uint8_t *aad,
                                size_t aad_len, const uint8_t sealed[MC_PSP_HIB_SEALED], const uint8_t *recs,
                                uint64_t nrec, uint32_t *fw_status, struct mc_error *err)
{
    if (fw_status)
        *fw_status = 0;
    if (!psp || !g || !sealed || (!recs && nrec) || (!aad && aad_len) || g->nvcpu == 0 || g->nvcpu > 64 ||
        (g->mem_spa | g->mem_size) & (PG - 1))
        return mc_seterr(err, MC_E_INVAL, "resuming an SNP guest needs its sealed context, pages and vCPUs");
    if (!snp_ready(psp))
        return fwerr(err, psp_fail(err, MC_FW_INVALID_PLATFORM_STATE, "SNP is not initialised"), fw_status);
    for (size_t i = 12 + SEALED_PLAIN + 16; i < MC_PSP_HIB_SEALED; i++)
        if (sealed[i])
            return mc_seterr(err, MC_E_FORMAT, "the sealed guest context has bytes after its tag");
    /* The context page and the ASID, as GCTX_CREATE and ACTIVATE check them. */
    struct mc_rmp_entry e;
    enum mc_rmp_page_state ps;
    uint32_t st = psp_rmp_get(psp, g->gctx_pa, &e, &ps, err);
    if (!st && ps != MC_RMP_PS_FIRMWARE)
        st = psp_fail(err, MC_FW_INVALID_PAGE_STATE, "the context page 0x%llx is %s, not a Firmware page",
                      (unsigned long long)g->gctx_pa, mc_rmp_page_state_name(ps));
    if (!st && (g->asid == 0 || g->asid >= psp->cfg.min_sev_asid))
        st = psp_fail(err, MC_FW_INVALID_ASID, "ASID %u is not an SNP ASID (1..%u)", g->asid, psp->cfg.min_sev_asid - 1);
    if (!st && psp->asid_dirty[g->asid])
        st = psp_fail(err, MC_FW_DF_FLUSH_REQUIRED, "ASID %u was not flushed since its last use (WBINVD + DF_FLUSH)",
                      g->asid);
    if (!st && psp->asid_owner[g->asid])
        st = psp_fail(err, MC_FW_ASID_OWNED, "ASID %u belongs to another guest", g->asid);
    if (st)
        return fwerr(err, st, fw_status);

    uint8_t key[32], plain[SEALED_PLAIN], digest[48];
    struct psp_gctx c;
    memset(&c, 0, sizeof c);
    struct mc_error e2 = {0};
    mc_status s = hib_key(psp, key, err);
    if (!s && (mc_aes256_gcm_open(key, sealed, aad, aad_len, sealed + 12, SEALED_PLAIN, sealed + 12 + SEALED_PLAIN,
                                  plain, &e2) != MC_OK))
        s = mc_seterr(err, MC_E_VERIFY,
                      "the hibernated guest's context does not open: it was sealed by another chip, or the file was altered");
    mc_wipe(key, sizeof key);
    if (!s && (!psp_gctx_decode(psp, plain, &c) || c.state != MC_SNP_GSTATE_RUNNING || !c.active))
        s = mc_seterr(err, MC_E_FORMAT, "the hibernated guest context is not a running guest's");
    if (!s && mc_le64(plain + O_NREC) != nrec)
        s = mc_seterr(err, MC_E_VERIFY, "the hibernated guest has %llu page records, its sealed context says %llu",
                      (unsigned long long)nrec, (unsigned long long)mc_le64(plain + O_NREC));
    uint64_t old_spa = mc_le64(plain + O_OLDSPA);
    struct mc_hashctx *h = NULL;
    if (!s)
        s = mc_hashctx_create("SHA384", &h, err);
    if (!s)
        s = mc_hashctx_oneshot(h, recs, (size_t)(nrec * MC_PSP_HIB_REC), digest, err);
    mc_hashctx_destroy(h);
    if (!s && !mc_ct_equal(digest, plain + O_DIGEST, 48))
        s = mc_seterr(err, MC_E_VERIFY, "the hibernated guest's pages or RMP entries were altered (digest)");
    uint8_t *seen = NULL;
    uint64_t vmsa_seen = 0;
    uint64_t *dst = NULL;
    if (!s && (!(seen = calloc((size_t)(g->mem_size / PG / 8) + 1, 1)) || !(dst = calloc((size_t)nrec + 1, 8))))
        s = mc_seterr(err, MC_E_NOMEM, "out of memory");
    for (uint64_t i = 0; !s && i < nrec; i++) {
        const uint8_t *r = recs + i * MC_PSP_HIB_REC;
        s = rec_check(psp, g, r, i, seen, &vmsa_seen, &dst[i], fw_status, err);
        /* A private page's old address must be where its GPA lay in the old RAM (what the digest
         * covered was the firmware's own export). */
        if (!s && mc_le32(r + R_TYPE) == MC_PSP_HIB_PRIVATE && mc_le64(r + R_SPA) != old_spa + mc_le64(r + R_GPA))
            s = bad(err, i, "a private page's old address does not match its GPA");
    }
    free(seen);
    if (s) {
        free(dst);
        psp_gctx_wipe(&c);
        mc_wipe(plain, sizeof plain);
        return s;
    }

    /* Everything checked: bind the key, move the frames in, write their RMP entries, seal the
     * context. Only the platform's own failures can stop this part; they undo what was done. */
    uint8_t *frame = malloc(PG);
    uint64_t done = 0;
    bool bound = false;
    if (!frame)
        s = mc_seterr(err, MC_E_NOMEM, "out of memory");
    c.asid = g->asid;
    c.active = true;
    c.pending = false;
    if (!s) {
        s = psp->mem.bind_key(psp->mem.ctx, c.asid, c.vek, sizeof c.vek, err);
        bound = s == MC_OK;
    }
    for (; !s && done < nrec; done++) {
        const uint8_t *r = recs + done * MC_PSP_HIB_REC;
        s = mc_xts_lines(MC_CIPHER_AES128_XTS, c.vek, sizeof c.vek, mc_le64(r + R_SPA), 1, r + MC_PSP_HIB_REC_HDR, frame,
                         PG, err);
        if (!s)
            s = psp->mem.write(psp->mem.ctx, MC_PSP_DOM_GUEST, c.asid, dst[done], frame, PG, err);
        if (s)
            break;
        struct mc_rmp_entry ne = {.assigned = true, .validated = (mc_le32(r + R_FLAGS) & R_VALIDATED) != 0,
                                  .vmsa = mc_le32(r + R_TYPE) == MC_PSP_HIB_VMSA, .gpa = mc_le64(r + R_GPA),
                                  .asid = c.asid};
        memcpy(ne.perm, r + R_PERM, 4);
        s = mc_rmp_fw_write(psp->mem.rmp, dst[done], &ne, err);
        if (s)
            break;
    }
    if (!s && mc_rmp_fw_make_context(psp->mem.rmp, g->gctx_pa, &ps) != MC_RMP_FW_OK)
        s = mc_seterr(err, MC_E_STATE, "the context page 0x%llx could not become a Context page",
                      (unsigned long long)g->gctx_pa);
    if (!s && (st = psp_gctx_create(psp, g->gctx_pa, &c, err))) {
        mc_rmp_fw_context_to_firmware(psp->mem.rmp, g->gctx_pa, NULL);
        s = fwerr(err, st, fw_status);
    }
    if (s) {
        const struct mc_rmp_entry hv = {0};
        for (uint64_t i = 0; i < done && i < nrec; i++)
            mc_rmp_fw_write(psp->mem.rmp, dst[i], &hv, NULL);
        if (bound)
            psp->mem.unbind_key(psp->mem.ctx, c.asid, NULL);
    } else {
        psp->asid_owner[c.asid] = PSP_ASID_SNP;
        psp->snp.asid_gctx[c.asid] = g->gctx_pa;
        psp->snp.guest_count++;
    }
    if (frame)
        mc_wipe(frame, PG);
    free(frame);
    free(dst);
    psp_gctx_wipe(&c);
    mc_wipe(plain, sizeof plain);
    return s;
}
