/* The fixture factory's emulated chip: an SNP identity (snp_identity.h) exported as a --roots
 * folder, and a report signed by it through the firmware's report builder (snp_attest.h). */
#include <string.h>

#include <memcrypt/fileio.h>
#include <memcrypt/snp_attest.h>
#include <memcrypt/snp_fixture.h>
#include <memcrypt/snp_identity.h>

#include "crypto/crypto.h"

/* Real-looking TCBs per generation (the SPLs of real VCEKs in tests/data/amd). */
static uint64_t default_tcb(enum mc_snp_gen g)
{
    switch (g) {
    case MC_SNP_GEN_TURIN: return mc_snp_tcb_encode(g, 0, 1, 0, 2, 71);
    case MC_SNP_GEN_GENOA: return mc_snp_tcb_encode(g, 0, 10, 0, 23, 84);
    default: return mc_snp_tcb_encode(g, 0, 3, 0, 8, 115);
    }
}

mc_status mc_snp_fixture_make_chip(const char *dir, const struct mc_snp_fixture_chip_opts *o, struct mc_error *err)
{
    if (!dir || !o)
        return mc_seterr(err, MC_E_INVAL, "no output folder or options");
    enum mc_snp_gen g = o->gen == MC_SNP_GEN_UNKNOWN ? MC_SNP_GEN_MILAN : o->gen;
    if (g != MC_SNP_GEN_MILAN && g != MC_SNP_GEN_GENOA && g != MC_SNP_GEN_TURIN)
        return mc_seterr(err, MC_E_INVAL, "unknown generation");
    if (o->vmpl > 3)
        return mc_seterr(err, MC_E_INVAL, "VMPL %u is not 0..3", o->vmpl);
    uint64_t tcb = o->has_tcb ? o->tcb : default_tcb(g);
    struct mc_rng *rng = NULL;
    struct mc_snp_identity *id = NULL;
    uint8_t secret[MC_SNP_SECRET_LEN], vseed[MC_SNP_SEED_LEN];
    mc_status st = mc_rng_create(o->seed, o->seed ? o->seed_len : 0, &rng, err);
    if (!st)
        st = mc_rng_bytes(rng, secret, sizeof secret, err);
    if (!st)
        st = mc_rng_bytes(rng, vseed, sizeof vseed, err);
    if (!st) {
        /* the generation's emulated roots, as every emulated chip of it has */
        struct mc_snp_identity_params p = {.gen = g, .chip_secret = secret};
        st = mc_snp_identity_create(&p, &id, err);
    }
    if (!st && o->vlek) {
        uint8_t w[MC_SNP_VLEK_WRAPPED_LEN];
        mc_fw_status fw = MC_FW_SUCCESS;
        st = mc_snp_vlek_wrap(id, vseed, tcb, NULL, w, err);
        if (!st)
            st = mc_snp_identity_vlek_load(id, w, sizeof w, tcb, &fw, err);
        if (!st && fw != MC_FW_SUCCESS)
            st = mc_seterr_fw(err, fw, "loading the VLEK failed with %s", mc_fw_status_name(fw));
    }
    struct mc_outset *os = NULL;
    if (!st)
        st = mc_outset_create(&os, err);
    if (!st)
        st = mc_snp_identity_export_set(id, os, dir, tcb, err);
    if (!st && o->report_out) {
        /* What the firmware of the memcrypt profile would sign for a freshly launched guest. */
        struct mc_snp_report_ctx c;
        memset(&c, 0, sizeof c);
        c.policy = 0x30000;
        c.current_tcb = c.committed_tcb = c.reported_tcb = c.launch_tcb = tcb;
        c.current_major = c.committed_major = 1;
        c.current_minor = c.committed_minor = 55;
        c.current_build = c.committed_build = g == MC_SNP_GEN_GENOA ? 37 : 21;
        c.platform_info = 0x1; /* SMT_EN */
        c.version = mc_snp_report_version_for(g, 1, 55, c.current_build);
        c.cpuid_fam_id = g == MC_SNP_GEN_TURIN ? 0x1A : 0x19;
        c.cpuid_mod_id = g == MC_SNP_GEN_TURIN ? 0x02 : g == MC_SNP_GEN_GENOA ? 0x11 : 0x01;
        c.cpuid_step = 1;
        memset(c.report_id_ma, 0xff, sizeof c.report_id_ma);
        memcpy(c.report_data, o->report_data, 64);
        c.vmpl = o->vmpl;
        c.signer = o->vlek ? MC_SNP_SIGNER_VLEK : MC_SNP_SIGNER_VCEK;
        uint8_t rep[MC_SNP_REPORT_SIZE];
        st = mc_rng_bytes(rng, c.report_id, sizeof c.report_id, err);
        if (!st)
            st = mc_snp_report_build(id, &c, rep, err);
        if (!st)
            st = mc_outset_add(os, o->report_out, rep, sizeof rep, err);
    }
    if (!st)
        st = mc_outset_commit(os, err); /* the folder and the report together, or nothing */
    mc_outset_destroy(os);
    mc_wipe(secret, sizeof secret);
    mc_wipe(vseed, sizeof vseed);
    mc_snp_identity_destroy(id);
    mc_rng_destroy(rng);
    return st;
}
