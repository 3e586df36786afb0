/* CPU profiles: CPUID values and their decoding against the digest's tables, BIOS settings,
 * derived platform descriptions, MSR reset values. */
#include <memcrypt/cpu.h>

#include "check.h"

static const struct mc_cpu_profile *get(const char *n)
{
    const struct mc_cpu_profile *p = NULL;
    struct mc_error e;
    CHECK_MSG(mc_cpu_profile_find(n, &p, &e) == MC_OK, "%s", e.msg);
    return p;
}

static void test_amd_decode(void)
{
    struct { const char *name; unsigned cbit, red, phys; uint32_t asids, min; bool es, snp; unsigned vmpls; } t[] = {
        {"naples", 47, 5, 48, 15, 5, true, false, 0},
        {"rome", 47, 5, 48, 509, 1, true, false, 0},
        {"milan", 51, 5, 48, 509, 0x80, true, true, 4},
        {"genoa", 51, 6, 52, 1006, 100, true, true, 4},
        {"turin", 51, 6, 52, 1006, 100, true, true, 4},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const struct mc_cpu_profile *p = get(t[i].name);
        if (!p)
            continue;
        struct mc_cpu_features f;
        mc_cpu_decode(p, &f);
        CHECK_MSG(f.cbit == t[i].cbit && f.reduction == t[i].red && f.phys_bits == t[i].phys, "%s", t[i].name);
        CHECK_MSG(f.max_asid == t[i].asids && f.min_sev_asid == t[i].min, "%s asids", t[i].name);
        CHECK_MSG(f.sme && f.sev && f.vm_page_flush && f.sev_es == t[i].es && f.sev_snp == t[i].snp, "%s", t[i].name);
        CHECK_MSG(f.vmpls == t[i].vmpls && !f.tme && !f.pconfig, "%s", t[i].name);
        struct mc_cpuid_regs r;
        CHECK(mc_cpuid(p, 0x80000000, 0, &r) && r.eax >= 0x8000001F && r.ebx == 0x68747541);
    }
    struct mc_cpuid_regs r;
    CHECK(mc_cpuid(get("rome"), 0x8000001F, 0, &r));
    CHECK(r.eax == 0x0001000F && r.ebx == 0x16F && r.ecx == 509 && r.edx == 1);
    CHECK(mc_cpuid(get("milan"), 0x8000001F, 0, &r));
    CHECK(r.eax == 0x0101FD3F && r.ebx == 0x4173);
    CHECK(!mc_cpuid(get("milan"), 0x12345678, 0, &r) && r.eax == 0);
    /* Naples has SEV-ES in hardware (every EPYC); its BIOS split leaves ASIDs 1..4 for SEV-ES. */
    CHECK(mc_cpuid(get("naples"), 0x8000001F, 0, &r) && r.eax == 0xF && r.edx == 5);
    /* Zen 5: RMPREAD and the segmented RMP; Zen 4 and older have neither. */
    struct mc_cpu_features f;
    mc_cpu_decode(get("turin"), &f);
    CHECK(f.rmpread && f.segmented_rmp && get("turin")->family == 0x1A && get("turin")->model_id == 0x02);
    mc_cpu_decode(get("genoa"), &f);
    CHECK(!f.rmpread && !f.segmented_rmp);
    /* SNP-capable profiles leave SEV-ES/SNP ASIDs (1..EDX-1). */
    const char *snp[] = {"milan", "genoa", "turin"};
    for (size_t i = 0; i < 3; i++) {
        mc_cpu_decode(get(snp[i]), &f);
        CHECK_MSG(f.sev_snp && f.min_sev_asid > 1 && f.min_sev_asid <= f.max_asid, "%s", snp[i]);
    }
}

static void test_intel_decode(void)
{
    const struct mc_cpu_profile *p = get("icelake-sp");
    struct mc_cpu_features f;
    mc_cpu_decode(p, &f);
    CHECK(f.tme && f.pconfig && f.pconfig_mktme_target && f.xts128 && !f.sme);
    CHECK(f.max_keyid_bits == 6 && f.max_keys == 63 && f.phys_bits == 46);
    struct memctl_platform pl;
    CHECK(mc_cpu_platform(p, NULL, &pl, NULL) == MC_OK);
    CHECK(pl.mode == MEMCTL_MODE_TME && pl.keyid_bits == 6 && pl.phys_bits == 46);
    uint64_t act = mc_cpu_tme_activate(p, NULL);
    CHECK_EQ_U64(act & 3, 3);                /* locked + enabled */
    CHECK_EQ_U64((act >> 32) & 0xF, 6);      /* KEYID_BITS */
    CHECK_EQ_U64((act >> 48) & 1, 1);        /* AES-XTS-128 for MKTME */
    const struct mc_cpu_profile *q = get("icelake-sp-nomktme");
    CHECK(mc_cpu_platform(q, NULL, &pl, NULL) == MC_OK && pl.mode == MEMCTL_MODE_TME && pl.keyid_bits == 0);
    CHECK_EQ_U64(mc_cpu_tme_activate(q, NULL), 3);
    struct mc_bios b = MC_BIOS_DEFAULTS;
    b.keyid_bits = 7;
    struct mc_error e;
    CHECK(mc_cpu_platform(p, &b, &pl, &e) == MC_E_RANGE);
    b = (struct mc_bios)MC_BIOS_DEFAULTS;
    b.tsme = 1;
    CHECK(mc_cpu_platform(p, &b, &pl, &e) == MC_E_UNSUPPORTED);
    b = (struct mc_bios)MC_BIOS_DEFAULTS;
    b.tme = 0;
    CHECK(mc_cpu_platform(p, &b, &pl, &e) == MC_E_UNSUPPORTED); /* keyid bits default 6 without TME */
    b.keyid_bits = 0;
    CHECK(mc_cpu_platform(p, &b, &pl, &e) == MC_OK && pl.mode == MEMCTL_MODE_OFF);
    CHECK_EQ_U64(mc_cpu_tme_activate(p, &b), 0);
    b.tme = 1;
    b.tme_bypass = 1;
    CHECK(mc_cpu_platform(p, &b, &pl, &e) == MC_E_UNSUPPORTED); /* bypass not enumerated */
}

static void test_bios_and_msrs(void)
{
    const struct mc_cpu_profile *p = get("milan");
    struct memctl_platform pl;
    CHECK(mc_cpu_platform(p, NULL, &pl, NULL) == MC_OK && pl.mode == MEMCTL_MODE_SME && pl.cbit == 51 && pl.reduction == 5);
    /* SYSCFG after BIOS: the DRAM MTRR bits plus SMEE; a public Rome dump reads 0xF40000. */
    CHECK_EQ_U64(mc_cpu_syscfg(p, NULL), 0xF40000);
    CHECK_EQ_U64(mc_cpu_syscfg(get("rome"), NULL), 0xF40000);
    CHECK_EQ_U64(mc_cpu_hwcr(p, NULL), MC_HWCR_SMMLOCK);
    struct mc_bios b = MC_BIOS_DEFAULTS;
    b.sme = 0;
    CHECK(mc_cpu_platform(p, &b, &pl, NULL) == MC_OK && pl.mode == MEMCTL_MODE_OFF);
    CHECK_EQ_U64(mc_cpu_syscfg(p, &b), 0x740000);
    b.tsme = 1;
    CHECK(mc_cpu_platform(p, &b, &pl, NULL) == MC_OK && pl.mode == MEMCTL_MODE_TSME);
    CHECK_EQ_U64(mc_cpu_syscfg(p, &b), 0xF40000); /* TSME implies SYSCFG[23] */
    CHECK(!strcmp(mc_syscfg_bit_name(23), "MemEncryptionModEn") && !strcmp(mc_syscfg_bit_name(19), "MtrrFixDramModEn"));
    CHECK(!strcmp(mc_hwcr_bit_name(0), "SmmLock") && !mc_syscfg_bit_name(5));
    b = (struct mc_bios)MC_BIOS_DEFAULTS;
    b.keyid_bits = 2;
    struct mc_error e;
    CHECK(mc_cpu_platform(p, &b, &pl, &e) == MC_E_UNSUPPORTED);
    b = (struct mc_bios)MC_BIOS_DEFAULTS;
    b.smm_lock = 0;
    CHECK_EQ_U64(mc_cpu_hwcr(p, &b), 0);
    CHECK(p->fw_api_major == 1 && p->fw_api_minor == 55);
    CHECK(get("naples")->fw_api_major == 0 && get("naples")->fw_api_minor == 17);
    CHECK(get("rome")->fw_api_minor == 24);
}

static void test_lookup(void)
{
    const struct mc_cpu_profile *p;
    struct mc_error e;
    CHECK(mc_cpu_profile_find("MILAN", &p, &e) == MC_OK && !strcmp(p->name, "milan"));
    CHECK(mc_cpu_profile_find("zen9", &p, &e) == MC_E_NOTFOUND && strstr(e.msg, "genoa"));
    CHECK(mc_cpu_profile_find(NULL, &p, &e) == MC_E_INVAL);
    CHECK(mc_cpu_profile_count() >= 6);
    CHECK(mc_cpu_profile_at(mc_cpu_profile_count()) == NULL);
    for (size_t i = 0; i < mc_cpu_profile_count(); i++) {
        struct memctl_platform pl;
        CHECK_MSG(mc_cpu_platform(mc_cpu_profile_at(i), NULL, &pl, &e) == MC_OK, "%s: %s", mc_cpu_profile_at(i)->name,
                  e.msg);
    }
}

/* Sapphire Rapids: both XTS algorithms, bypass, 7 KeyID bits, key save; the BIOS allows every
 * enumerated non-integrity algorithm for MKTME (bits 48 and 50). */
static void test_spr_decode(void)
{
    const struct mc_cpu_profile *p = get("sapphire-rapids");
    CHECK(p->vendor == MC_VENDOR_INTEL && p->family == 6 && p->model_id == 0x8F && p->tme_save_key);
    CHECK(!get("icelake-sp")->tme_save_key && !get("milan")->tme_save_key);
    struct mc_cpu_features f;
    mc_cpu_decode(p, &f);
    CHECK(f.tme && f.pconfig && f.pconfig_mktme_target && f.xts128 && f.xts256 && f.bypass_supported);
    CHECK(f.max_keyid_bits == 7 && f.max_keys == 127 && f.phys_bits == 52 && f.lin_bits == 57);
    CHECK_EQ_U64(mc_cpu_tme_activate(p, NULL), 0x3ull | (6ull << 32) | (1ull << 48) | (1ull << 50));
    struct mc_bios b = MC_BIOS_DEFAULTS;
    b.tme_bypass = 1;
    b.keyid_bits = 7;
    struct memctl_platform pl;
    struct mc_error e;
    CHECK(mc_cpu_platform(p, &b, &pl, &e) == MC_OK && pl.tme_bypass && pl.keyid_bits == 7 && pl.phys_bits == 52);
    CHECK(memctl_platform_addr_bits(&pl) == 45);
    CHECK_EQ_U64(mc_cpu_tme_activate(p, &b), 0x3ull | (1ull << 31) | (7ull << 32) | (5ull << 48));
    b.keyid_bits = 8;
    CHECK(mc_cpu_platform(p, &b, &pl, &e) == MC_E_RANGE);
}

int main(void)
{
    RUN(test_amd_decode);
    RUN(test_intel_decode);
    RUN(test_spr_decode);
    RUN(test_bios_and_msrs);
    RUN(test_lookup);
    return check_summary();
}
