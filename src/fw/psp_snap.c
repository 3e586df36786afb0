/* Snapshots of the SEV firmware; see fw/psp_snap.h. */
#include <stdlib.h>
#include <string.h>

#include "fw/psp_int.h"
#include "fw/psp_snap.h"

#include <memcrypt/sev_identity.h>
#include <memcrypt/snp_identity.h>

struct mc_psp_snap {
    const struct mc_psp *owner;
    struct mc_psp p;            /* scalars, committed NV state, MMIO registers */
    struct psp_guest **guests;  /* [1..max_guests], deep copies */
    uint32_t nguests;
    uint32_t *asid_owner;       /* [0..max_asid] */
    uint8_t *asid_dirty;        /* [0..max_asid] */
    struct mc_sev_identity *id; /* a copy of the live identity (NULL when none was loaded) */
    uint64_t *snp_asid_gctx;    /* [0..max_asid] */
    uint8_t *snp_ident;         /* copy of the committed SNP identity blob (p.snp.nv.ident_len bytes) */
};

/* A deep copy of guest g (its running launch digest included); NULL on failure. */
static struct psp_guest *guest_copy(const struct psp_guest *g, struct mc_error *err)
{
    struct psp_guest *c = malloc(sizeof *c);
    if (!c) {
        mc_seterr(err, MC_E_NOMEM, "firmware snapshot: out of memory");
        return NULL;
    }
    *c = *g;
    c->ld_ctx = NULL;
    c->chan = NULL; /* a cache of the TEK/TIK contexts: made again when needed */
    if (g->ld_ctx && mc_hashctx_dup(g->ld_ctx, &c->ld_ctx, err) != MC_OK) {
        psp_guest_free(c);
        return NULL;
    }
    return c;
}

void mc_psp_snap_free(struct mc_psp_snap *s)
{
    if (!s)
        return;
    for (uint32_t h = 1; s->guests && h <= s->p.cfg.max_guests; h++)
        psp_guest_free(s->guests[h]);
    free(s->guests);
    free(s->asid_owner);
    free(s->asid_dirty);
    mc_sev_identity_destroy(s->id);
    free(s->snp_asid_gctx);
    if (s->snp_ident)
        mc_wipe(s->snp_ident, s->p.snp.nv.ident_len);
    free(s->snp_ident);
    mc_wipe(s, sizeof *s);
    free(s);
}

mc_status mc_psp_snap_save(const struct mc_psp *psp, struct mc_psp_snap **out, struct mc_error *err)
{
    if (!psp || !out)
        return mc_seterr(err, MC_E_INVAL, "firmware snapshot: NULL argument");
    if (psp->state_path)
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "a firmware with a state file has no snapshots (the file lies outside the platform)");
    struct mc_psp_snap *s = calloc(1, sizeof *s);
    if (!s)
        return mc_seterr(err, MC_E_NOMEM, "firmware snapshot: out of memory");
    s->p = *psp;
    size_t nasid = (size_t)psp->cfg.max_asid + 1;
    s->guests = calloc((size_t)psp->cfg.max_guests + 1, sizeof *s->guests);
    s->asid_owner = malloc(nasid * sizeof *s->asid_owner);
    s->asid_dirty = malloc(nasid);
    if (!s->guests || !s->asid_owner || !s->asid_dirty) {
        mc_psp_snap_free(s);
        return mc_seterr(err, MC_E_NOMEM, "firmware snapshot: out of memory");
    }
    memcpy(s->asid_owner, psp->asid_owner, nasid * sizeof *s->asid_owner);
    memcpy(s->asid_dirty, psp->asid_dirty, nasid);
    /* SNP: the ASID -> guest-context table and the committed identity blob (the live identity is
     * always the blob deserialised: a restore keeps it when the blobs match, else drops it). */
    s->snp_asid_gctx = malloc(nasid * sizeof *s->snp_asid_gctx);
    if (psp->snp.nv.ident_len)
        s->snp_ident = malloc(psp->snp.nv.ident_len);
    if (!s->snp_asid_gctx || (psp->snp.nv.ident_len && !s->snp_ident)) {
        mc_psp_snap_free(s);
        return mc_seterr(err, MC_E_NOMEM, "firmware snapshot: out of memory");
    }
    memcpy(s->snp_asid_gctx, psp->snp.asid_gctx, nasid * sizeof *s->snp_asid_gctx);
    if (psp->snp.nv.ident_len)
        memcpy(s->snp_ident, psp->snp.nv.ident, psp->snp.nv.ident_len);
    for (uint32_t h = 1; h <= psp->cfg.max_guests; h++) {
        if (psp->guests[h] && !(s->guests[h] = guest_copy(psp->guests[h], err))) {
            mc_psp_snap_free(s);
            return MC_E_NOMEM;
        }
        s->nguests += psp->guests[h] != NULL;
    }
    if (psp->id && mc_sev_identity_dup(psp->id, &s->id, err) != MC_OK) {
        mc_psp_snap_free(s);
        return MC_E_CRYPTO;
    }
    s->owner = psp;
    *out = s;
    return MC_OK;
}

/* Do two persistent states hold the same chip, owner and identity (what the live identity is
 * made from)? */
static bool same_nv(const struct psp_nv *a, const struct psp_nv *b)
{
    return a->ident_len == b->ident_len && a->owned == b->owned &&
           memcmp(a->chip_secret, b->chip_secret, sizeof a->chip_secret) == 0 &&
           memcmp(a->ident, b->ident, a->ident_len) == 0;
}

mc_status mc_psp_snap_restore(struct mc_psp *psp, const struct mc_psp_snap *s, struct mc_error *err)
{
    if (!psp || !s)
        return mc_seterr(err, MC_E_INVAL, "firmware snapshot: NULL argument");
    if (s->owner != psp)
        return mc_seterr(err, MC_E_INVAL, "firmware snapshot: it belongs to another firmware");
    /* Allocate everything first, so a failure leaves the firmware as it was.
     * The live identity is always the committed one (psp_int.h): it stays when the committed
     * state is the snapshot's, else it becomes a copy of the snapshot's (deserialising the
     * restored state would give the same, checking every certificate again). */
    bool keep_id = psp->id && same_nv(&psp->nv, &s->p.nv);
    struct mc_sev_identity *id = NULL;
    if (!keep_id && s->id && mc_sev_identity_dup(s->id, &id, err) != MC_OK)
        return MC_E_CRYPTO;
    const uint32_t sn = s->p.snp.nv.ident_len;
    uint8_t *snp_ident = sn ? malloc(sn) : NULL;
    if (sn && !snp_ident) {
        mc_sev_identity_destroy(id);
        return mc_seterr(err, MC_E_NOMEM, "firmware snapshot: out of memory");
    }
    if (sn)
        memcpy(snp_ident, s->snp_ident, sn);
    const bool keep_snp_id = psp->snp.id && sn && psp->snp.nv.ident_len == sn &&
                             memcmp(psp->snp.nv.ident, s->snp_ident, sn) == 0;
    struct psp_guest **g = NULL;
    if (s->nguests)
        g = calloc((size_t)psp->cfg.max_guests + 1, sizeof *g);
    mc_status st = g || !s->nguests ? MC_OK : mc_seterr(err, MC_E_NOMEM, "firmware snapshot: out of memory");
    for (uint32_t h = 1; !st && h <= psp->cfg.max_guests; h++)
        if (s->guests[h] && !(g[h] = guest_copy(s->guests[h], err)))
            st = MC_E_NOMEM;
    if (st) {
        for (uint32_t h = 1; g && h <= psp->cfg.max_guests; h++)
            psp_guest_free(g[h]);
        free(g);
        mc_sev_identity_destroy(id);
        if (snp_ident)
            mc_wipe(snp_ident, sn);
        free(snp_ident);
        return st;
    }
    for (uint32_t h = 1; h <= psp->cfg.max_guests; h++) {
        psp_guest_free(psp->guests[h]);
        psp->guests[h] = g ? g[h] : NULL;
    }
    free(g);
    if (keep_id) {
        id = psp->id;
    } else {
        mc_sev_identity_destroy(psp->id);
    }
    size_t nasid = (size_t)psp->cfg.max_asid + 1;
    memcpy(psp->asid_owner, s->asid_owner, nasid * sizeof *psp->asid_owner);
    memcpy(psp->asid_dirty, s->asid_dirty, nasid);
    memcpy(psp->snp.asid_gctx, s->snp_asid_gctx, nasid * sizeof *psp->snp.asid_gctx);
    struct mc_snp_identity *snp_id = keep_snp_id ? psp->snp.id : NULL;
    if (!keep_snp_id)
        mc_snp_identity_destroy(psp->snp.id);
    psp_snp_nv_clear(&psp->snp.nv);
    struct psp_guest **guests = psp->guests;
    uint32_t *asid_owner = psp->asid_owner;
    uint8_t *asid_dirty = psp->asid_dirty;
    uint64_t *asid_gctx = psp->snp.asid_gctx;
    struct psp_snap_work *snap = psp->snap;
    uint8_t *lu_buf = psp->snp.lu_buf; /* a workspace, not state: the live one stays */
    *psp = s->p;
    psp->snp.lu_buf = lu_buf;
    psp->guests = guests;
    psp->asid_owner = asid_owner;
    psp->asid_dirty = asid_dirty;
    psp->id = id;
    psp->snap = snap;
    psp->snp.asid_gctx = asid_gctx;
    psp->snp.nv.ident = snp_ident;
    psp->snp.id = snp_id;
    return MC_OK;
}
