/* SEV-SNP TCB_VERSION: per-generation layouts (digest §2.6).
 * Milan/Genoa: byte 0 BOOT_LOADER, 1 TEE, 2-5 reserved, 6 SNP, 7 MICROCODE.
 * Turin:       byte 0 FMC, 1 BOOT_LOADER, 2 TEE, 3 SNP, 4-6 reserved, 7 MICROCODE. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <memcrypt/bytes.h>
#include <memcrypt/snp_report.h>

void mc_snp_tcb_decode(uint64_t raw, enum mc_snp_gen gen, struct mc_snp_tcb *t)
{
    memset(t, 0, sizeof *t);
    t->raw = raw;
    for (int i = 0; i < 8; i++)
        t->spl[i] = (uint8_t)(raw >> (8 * i));
    if (gen == MC_SNP_GEN_TURIN) {
        t->has_fmc = true;
        t->fmc = t->spl[0];
        t->bootloader = t->spl[1];
        t->tee = t->spl[2];
        t->snp = t->spl[3];
    } else {
        t->bootloader = t->spl[0];
        t->tee = t->spl[1];
        t->snp = t->spl[6];
    }
    t->microcode = t->spl[7];
}

uint64_t mc_snp_tcb_encode(enum mc_snp_gen gen, uint8_t fmc, uint8_t bl, uint8_t tee, uint8_t snp, uint8_t ucode)
{
    uint8_t b[8] = {0};
    if (gen == MC_SNP_GEN_TURIN) {
        b[0] = fmc; b[1] = bl; b[2] = tee; b[3] = snp;
    } else {
        b[0] = bl; b[1] = tee; b[6] = snp;
    }
    b[7] = ucode;
    return mc_le64(b);
}

mc_status mc_snp_tcb_parse(const char *s, enum mc_snp_gen gen, uint64_t *out, struct mc_error *err)
{
    if (!s || !*s)
        return mc_seterr(err, MC_E_FORMAT, "empty TCB value");
    if (!strchr(s, '='))
        return mc_parse_u64(s, out, err);
    uint64_t v[5] = {0}; /* fmc bl tee snp ucode */
    static const char *const keys[] = {"fmc", "bl", "tee", "snp", "ucode"};
    char buf[128];
    if (strlen(s) >= sizeof buf)
        return mc_seterr(err, MC_E_FORMAT, "TCB value is too long");
    strcpy(buf, s);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return mc_seterr(err, MC_E_FORMAT, "TCB part '%s' is not name=value", tok);
        *eq = 0;
        int k = -1;
        for (int i = 0; i < 5; i++)
            if (!strcasecmp(tok, keys[i]))
                k = i;
        if (k < 0)
            return mc_seterr(err, MC_E_FORMAT, "unknown TCB part '%s' (known: fmc, bl, tee, snp, ucode)", tok);
        mc_status st = mc_parse_u64(eq + 1, &v[k], err);
        if (st)
            return st;
        if (v[k] > 255)
            return mc_seterr(err, MC_E_RANGE, "TCB part %s=%s does not fit in a byte", tok, eq + 1);
    }
    if (v[0] && gen != MC_SNP_GEN_TURIN)
        return mc_seterr(err, MC_E_FORMAT, "fmc is a Turin TCB part; this TCB uses the %s layout",
                         gen == MC_SNP_GEN_UNKNOWN ? "Milan/Genoa" : mc_snp_gen_name(gen));
    *out = mc_snp_tcb_encode(gen, (uint8_t)v[0], (uint8_t)v[1], (uint8_t)v[2], (uint8_t)v[3], (uint8_t)v[4]);
    return MC_OK;
}

bool mc_snp_tcb_ge(uint64_t a, uint64_t b, enum mc_snp_gen gen)
{
    (void)gen; /* every part is one byte in every layout, so a byte-wise comparison is component-wise */
    for (int i = 0; i < 8; i++)
        if ((uint8_t)(a >> (8 * i)) < (uint8_t)(b >> (8 * i)))
            return false;
    return true;
}

uint64_t mc_snp_tcb_factory(enum mc_snp_gen gen)
{
    /* The SPLs of real VCEKs in tests/data/amd (Milan bl 3 tee 0 snp 8 ucode 115; Genoa 10/0/23/84;
     * Turin fmc 0, bl 1, tee 0, snp 2, ucode 71). */
    switch (gen) {
    case MC_SNP_GEN_TURIN: return mc_snp_tcb_encode(gen, 0, 1, 0, 2, 71);
    case MC_SNP_GEN_GENOA: return mc_snp_tcb_encode(gen, 0, 10, 0, 23, 84);
    default: return mc_snp_tcb_encode(MC_SNP_GEN_MILAN, 0, 3, 0, 8, 115);
    }
}
