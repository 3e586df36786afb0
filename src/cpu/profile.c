/* Platform profiles. Values and their provenance: docs/core.md ("CPU profiles").
 * Only the CPUID leaves and MSRs that matter for memory encryption are modelled; leaf 7 on
 * AMD profiles carries only the bits this project interprets (TME / PCONFIG, both 0 on AMD),
 * every other bit reads 0 rather than an invented value. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <memcrypt/cpu.h>

#define AMD_VENDOR_EBX 0x68747541u /* "Auth" */
#define AMD_VENDOR_EDX 0x69746E65u /* "enti" */
#define AMD_VENDOR_ECX 0x444D4163u /* "cAMD" */

/* SYSCFG as the BIOS leaves it, without bit 23 (added when the BIOS enables SME/TSME): the DRAM
 * MTRR bits every AMD server BIOS sets — MtrrFixDramEn (18), MtrrVarDramEn (20), MtrrTom2En (21),
 * Tom2ForceMemTypeWB (22); MtrrFixDramModEn (19) is cleared again after programming the fixed
 * MTRRs. A public Rome dump whose CPUID equals the rome profile reads 0xF40000 = these | SMEE. */
#define AMD_SYSCFG_BIOS                                                                                \
    (MC_SYSCFG_MTRR_FIX_DRAM_EN | MC_SYSCFG_MTRR_VAR_DRAM_EN | MC_SYSCFG_MTRR_TOM2_EN | MC_SYSCFG_TOM2_FORCE_WB)

/* EPYC 7001 "Naples". 8000_001F EBX/ECX from a Zen 1 dump (C-bit 47, reduction 5, 15 ASIDs; the
 * server value by analogy). EAX = 0xF: SME, SEV, VM_PAGE_FLUSH and SEV-ES. Every EPYC has SEV-ES in
 * hardware (Linux on a Zen 1 EPYC host shows kvm_amd sev_es=Y); the Zen 1 *client* dump (EAX 0x7)
 * lacks it. EDX = 5: the BIOS "SEV-ES ASID space limit" splits the 15 ASIDs into 1..4 for SEV-ES
 * and 5..15 for SEV (the split AMD's APM uses as its example; chosen, UNCONFIRMED for real BIOSes). */
static const struct mc_cpuid_entry naples_cpuid[] = {
    {0x00000007, 0, {0, 0, 0, 0}},
    {0x80000000, 0, {0x8000001F, AMD_VENDOR_EBX, AMD_VENDOR_ECX, AMD_VENDOR_EDX}},
    {0x80000008, 0, {0x00003030, 0, 0, 0}},
    {0x8000001F, 0, {0x0000000F, 0x0000016F, 15, 5}},
};
/* EPYC 7002 "Rome": raw dump EAX 0x0001000F EBX 0x16F ECX 509 EDX 1. */
static const struct mc_cpuid_entry rome_cpuid[] = {
    {0x00000007, 0, {0, 0, 0, 0}},
    {0x80000000, 0, {0x80000020, AMD_VENDOR_EBX, AMD_VENDOR_ECX, AMD_VENDOR_EDX}},
    {0x80000008, 0, {0x00003030, 0, 0, 0}},
    {0x8000001F, 0, {0x0001000F, 0x0000016F, 509, 1}},
};
/* EPYC 7713P "Milan": raw dump EAX 0x0101FD3F EBX 0x4173 ECX 509 EDX 0x80 (BIOS-dependent:
 * 0x80 or 0x1FE were seen; 0x80 keeps ASIDs 1..127 for SEV-ES/SNP). */
static const struct mc_cpuid_entry milan_cpuid[] = {
    {0x00000007, 0, {0, 0, 0, 0}},
    {0x80000000, 0, {0x80000023, AMD_VENDOR_EBX, AMD_VENDOR_ECX, AMD_VENDOR_EDX}},
    {0x80000008, 0, {0x00003030, 0, 0, 0}},
    {0x8000001F, 0, {0x0101FD3F, 0x00004173, 509, 0x80}},
};
/* EPYC 9654 "Genoa": C-bit 51, reduction 6, 4 VMPLs, 1006 ASIDs from one decoded dump; EDX = 100
 * (SEV-ES/SNP ASIDs 1..99, SEV 100..1006) as a public Genoa host reports it (virtee/snphost
 * `ok` output: "Physical address bit reduction: 6", "C-bit location: 51", "Number of encrypted
 * guests supported simultaneously: 1006", "Minimum ASID value for SEV-enabled, SEV-ES disabled
 * guest: 100"; the earlier dump with EDX = 1 left no SEV-ES/SNP ASIDs at all). EAX is Milan's
 * value plus bit 9 (V_TSC_AUX) — constructed, UNCONFIRMED. 52-bit physical, 57-bit linear. */
static const struct mc_cpuid_entry genoa_cpuid[] = {
    {0x00000007, 0, {0, 0, 0, 0}},
    {0x80000000, 0, {0x80000028, AMD_VENDOR_EBX, AMD_VENDOR_ECX, AMD_VENDOR_EDX}},
    {0x80000008, 0, {0x00003934, 0, 0, 0}},
    {0x8000001F, 0, {0x0101FF3F, 0x000041B3, 1006, 100}},
};
/* EPYC 9005 "Turin" (Zen 5, family 1Ah model 02h: the CPUID fields of public Turin attestation
 * reports, e.g. project-oak's turin_oc evidence, read family 1Ah model 02h stepping 1). No raw
 * 8000_001F dump was found: EAX = Genoa's value plus bit 21 (RMPREAD) and bit 23 (SEGMENTED_RMP),
 * both Zen 5 additions in Linux's cpufeatures; EBX/ECX/EDX as Genoa (C-bit 51, reduction 6,
 * 4 VMPLs, 1006 ASIDs, SEV from 100). Constructed, UNCONFIRMED. 52-bit physical, 57-bit linear. */
static const struct mc_cpuid_entry turin_cpuid[] = {
    {0x00000007, 0, {0, 0, 0, 0}},
    {0x80000000, 0, {0x80000028, AMD_VENDOR_EBX, AMD_VENDOR_ECX, AMD_VENDOR_EDX}},
    {0x80000008, 0, {0x00003934, 0, 0, 0}},
    {0x8000001F, 0, {0x01A1FF3F, 0x000041B3, 1006, 100}},
};
/* Xeon 3rd gen "Ice Lake-SP": TME (7.0:ECX[13]), PCONFIG (7.0:EDX[18]), 0x1B subleaf 0 lists
 * target 1 (MKTME), subleaf 1 invalid. 46-bit physical, 57-bit linear. */
static const struct mc_cpuid_entry icx_cpuid[] = {
    {0x00000007, 0, {0, 0, 1u << 13, 1u << 18}},
    {0x0000001B, 0, {1, 1, 0, 0}},
    {0x0000001B, 1, {0, 0, 0, 0}},
    {0x80000000, 0, {0x80000008, 0, 0, 0}},
    {0x80000008, 0, {0x0000392E, 0, 0, 0}},
};

/* IA32_TME_CAPABILITY for the Ice Lake-SP profile: AES-XTS-128 (bit 0), MAX_KEYID_BITS 6,
 * MAX_KEYS 63. */
#define ICX_TME_CAP (0x1ull | (6ull << 32) | (63ull << 36))

/* Xeon 4th gen "Sapphire Rapids" (Xeon Platinum 8480+/8480C: family 6, model 0x8F, as Linux's
 * boot line "family: 0x6, model: 0x8f" shows). Public facts used: TME (7.0:ECX[13]) and PCONFIG
 * (7.0:EDX[18]) as on Ice Lake-SP; BIOS menus of such hosts offer "TME Bypass" and
 * "TME-MT"; dmesg of TDX hosts reports KeyID ranges "[1, 64)", "[32, 64)" and "[64, 128)", so
 * the part has at least 7 KeyID bits and BIOSes commonly program 6.
 * Chosen (UNCONFIRMED, no public MSR dump found): 0x80000008 EAX = 0x3934 (52-bit physical,
 * 57-bit linear; hosts with 6 KeyID bits active print "46 bits physical" because Linux
 * subtracts the KeyID bits); IA32_TME_CAPABILITY = AES-XTS-128 (bit 0) | AES-XTS-256 (bit 2)
 * | bypass (bit 31) | MAX_KEYID_BITS 7 | MAX_KEYS 127 (integrity algorithms, which the part
 * has for TDX, are not modelled and left out); the TME key can be saved for standby. */
static const struct mc_cpuid_entry spr_cpuid[] = {
    {0x00000007, 0, {0, 0, 1u << 13, 1u << 18}},
    {0x0000001B, 0, {1, 1, 0, 0}},
    {0x0000001B, 1, {0, 0, 0, 0}},
    {0x80000000, 0, {0x80000008, 0, 0, 0}},
    {0x80000008, 0, {0x00003934, 0, 0, 0}},
};
#define SPR_TME_CAP (0x1ull | 0x4ull | (1ull << 31) | (7ull << 32) | (127ull << 36))

static const struct mc_cpu_profile profiles[] = {
    {"naples", "AMD EPYC 7601", "EPYC 7001 (Zen 1)", MC_VENDOR_AMD, 0x17, 0x01, naples_cpuid,
     sizeof naples_cpuid / sizeof naples_cpuid[0], AMD_SYSCFG_BIOS, 0, 0, 17, MC_CIPHER_AES128_XTS,
     {1, 0, 1, 0, 0, 0},
     "8000_001F EBX/ECX from a Zen 1 dump (server values by analogy); SEV-ES in EAX as on every EPYC; "
     "BIOS SEV-ES ASID split 1..4 / 5..15 chosen (UNCONFIRMED); SEV API 0.17",
     false, 48, 0, 0},
    {"rome", "AMD EPYC 7702", "EPYC 7002 (Zen 2)", MC_VENDOR_AMD, 0x17, 0x31, rome_cpuid,
     sizeof rome_cpuid / sizeof rome_cpuid[0], AMD_SYSCFG_BIOS, 0, 0, 24, MC_CIPHER_AES128_XTS,
     {1, 0, 1, 0, 0, 0},
     "8000_001F from a raw EPYC Rome-class dump (its BIOS left no SEV-ES ASIDs: EDX 1); SYSCFG 0xF40000 "
     "as the same dump reads it; SEV API 0.24",
     false, 14, 0, 0},
    {"milan", "AMD EPYC 7713P", "EPYC 7003 (Zen 3)", MC_VENDOR_AMD, 0x19, 0x01, milan_cpuid,
     sizeof milan_cpuid / sizeof milan_cpuid[0], AMD_SYSCFG_BIOS, 0, 1, 55, MC_CIPHER_AES128_XTS,
     {1, 0, 1, 0, 0, 0},
     "8000_001F from a raw EPYC 7713P dump (EDX 0x80 variant: SEV-ES/SNP ASIDs 1..127); SEV API 1.55 "
     "(UNCONFIRMED per part)",
     false, 21, 1, 55},
    {"genoa", "AMD EPYC 9654", "EPYC 9004 (Zen 4)", MC_VENDOR_AMD, 0x19, 0x11, genoa_cpuid,
     sizeof genoa_cpuid / sizeof genoa_cpuid[0], AMD_SYSCFG_BIOS, 0, 1, 55, MC_CIPHER_AES128_XTS,
     {1, 0, 1, 0, 0, 0},
     "EBX/ECX/EDX from public Genoa hosts (SEV-ES/SNP ASIDs 1..99); EAX constructed (UNCONFIRMED); SEV API 1.55",
     false, 37, 1, 55},
    {"turin", "AMD EPYC 9655", "EPYC 9005 (Zen 5)", MC_VENDOR_AMD, 0x1A, 0x02, turin_cpuid,
     sizeof turin_cpuid / sizeof turin_cpuid[0], AMD_SYSCFG_BIOS, 0, 1, 55, MC_CIPHER_AES128_XTS,
     {1, 0, 1, 0, 0, 0},
     "family/model and firmware 1.55 build 61 from public Turin attestation reports; 8000_001F constructed "
     "from Genoa plus RMPREAD and SEGMENTED_RMP (UNCONFIRMED)",
     false, 61, 1, 55},
    {"icelake-sp", "Intel Xeon Platinum 8380", "Xeon 3rd gen (Ice Lake-SP), TME + MKTME", MC_VENDOR_INTEL, 0x06,
     0x6A, icx_cpuid, sizeof icx_cpuid / sizeof icx_cpuid[0], 0, ICX_TME_CAP, 0, 0, MC_CIPHER_AES128_XTS,
     {0, 0, 0, 1, 6, 0},
     "TME/MKTME MSR layouts from the Intel MKTME spec; capability values chosen for the part (UNCONFIRMED)"},
    {"icelake-sp-nomktme", "Intel Xeon Platinum 8380", "Xeon 3rd gen (Ice Lake-SP), TME on, MKTME off by BIOS",
     MC_VENDOR_INTEL, 0x06, 0x6A, icx_cpuid, sizeof icx_cpuid / sizeof icx_cpuid[0], 0, ICX_TME_CAP, 0, 0,
     MC_CIPHER_AES128_XTS, {0, 0, 0, 1, 0, 0},
     "same CPU as icelake-sp; BIOS programs MK_TME_KEYID_BITS = 0"},
    {"sapphire-rapids", "Intel Xeon Platinum 8480+", "Xeon 4th gen (Sapphire Rapids), TME + MKTME, bypass, key save",
     MC_VENDOR_INTEL, 0x06, 0x8F, spr_cpuid, sizeof spr_cpuid / sizeof spr_cpuid[0], 0, SPR_TME_CAP, 0, 0,
     MC_CIPHER_AES128_XTS, {0, 0, 0, 1, 6, 0},
     "family/model and KeyID ranges from public boot logs; 52-bit MAXPHYADDR and IA32_TME_CAPABILITY "
     "(AES-XTS-128/256, bypass, MAX_KEYID_BITS 7, MAX_KEYS 127) chosen (UNCONFIRMED); key save chosen supported",
     true},
};

size_t mc_cpu_profile_count(void) { return sizeof profiles / sizeof profiles[0]; }

const struct mc_cpu_profile *mc_cpu_profile_at(size_t i)
{
    return i < mc_cpu_profile_count() ? &profiles[i] : NULL;
}

mc_status mc_cpu_profile_find(const char *name, const struct mc_cpu_profile **out, struct mc_error *err)
{
    if (!name || !out)
        return mc_seterr(err, MC_E_INVAL, "a profile name is required");
    for (size_t i = 0; i < mc_cpu_profile_count(); i++)
        if (!strcasecmp(profiles[i].name, name)) {
            *out = &profiles[i];
            return MC_OK;
        }
    char list[200] = "";
    for (size_t i = 0; i < mc_cpu_profile_count(); i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, profiles[i].name, sizeof list - strlen(list) - 1);
    }
    return mc_seterr(err, MC_E_NOTFOUND, "unknown platform '%.40s' (known: %s)", name, list);
}

bool mc_cpuid(const struct mc_cpu_profile *p, uint32_t leaf, uint32_t subleaf, struct mc_cpuid_regs *out)
{
    if (!p || !out)
        return false;
    for (size_t i = 0; i < p->ncpuid; i++)
        if (p->cpuid[i].leaf == leaf && p->cpuid[i].subleaf == subleaf) {
            *out = p->cpuid[i].r;
            return true;
        }
    *out = (struct mc_cpuid_regs){0, 0, 0, 0};
    return false;
}

void mc_cpu_decode(const struct mc_cpu_profile *p, struct mc_cpu_features *f)
{
    if (!f)
        return;
    memset(f, 0, sizeof *f);
    if (!p)
        return;
    struct mc_cpuid_regs r, ext;
    mc_cpuid(p, 0x80000000, 0, &ext);
    mc_cpuid(p, 0x80000008, 0, &r);
    f->phys_bits = r.eax & 0xFF;
    f->lin_bits = (r.eax >> 8) & 0xFF;
    if (p->vendor == MC_VENDOR_AMD && ext.eax >= 0x8000001F && mc_cpuid(p, 0x8000001F, 0, &r)) {
        f->sme = r.eax & 1;
        f->sev = (r.eax >> 1) & 1;
        f->vm_page_flush = (r.eax >> 2) & 1;
        f->sev_es = (r.eax >> 3) & 1;
        f->sev_snp = (r.eax >> 4) & 1;
        f->vmpl = (r.eax >> 5) & 1;
        f->sme_coherent = (r.eax >> 10) & 1;
        f->host64_only = (r.eax >> 11) & 1;
        f->vte = (r.eax >> 16) & 1;
        f->rmpread = (r.eax >> 21) & 1;
        f->segmented_rmp = (r.eax >> 23) & 1;
        f->cbit = r.ebx & 0x3F;
        f->reduction = (r.ebx >> 6) & 0x3F;
        f->vmpls = (r.ebx >> 12) & 0xF;
        f->max_asid = r.ecx;
        f->min_sev_asid = r.edx;
    }
    mc_cpuid(p, 7, 0, &r);
    f->tme = (r.ecx >> 13) & 1;
    f->pconfig = (r.edx >> 18) & 1;
    if (f->pconfig) {
        /* Scan 0x1B subleaves until the first invalid one (type 0). */
        for (uint32_t sl = 0; sl < 16 && mc_cpuid(p, 0x1B, sl, &r) && (r.eax & 0xFFF) != 0; sl++)
            if ((r.eax & 0xFFF) == 1 && (r.ebx == 1 || r.ecx == 1 || r.edx == 1))
                f->pconfig_mktme_target = true;
    }
    if (f->tme) {
        uint64_t cap = p->tme_capability;
        f->xts128 = cap & 1;
        f->xts256 = (cap >> 2) & 1;
        f->bypass_supported = (cap >> 31) & 1;
        f->max_keyid_bits = (unsigned)((cap >> 32) & 0xF);
        f->max_keys = (unsigned)((cap >> 36) & 0x7FFF);
    }
}

mc_status mc_cpu_bios_resolve(const struct mc_cpu_profile *p, const struct mc_bios *in, struct mc_bios *out,
                              struct mc_error *err)
{
    if (!p || !out)
        return mc_seterr(err, MC_E_INVAL, "NULL argument to mc_cpu_bios_resolve");
    struct mc_bios b = p->bios_default;
    if (in) {
        if (in->sme >= 0) b.sme = in->sme != 0;
        if (in->tsme >= 0) b.tsme = in->tsme != 0;
        if (in->smm_lock >= 0) b.smm_lock = in->smm_lock != 0;
        if (in->tme >= 0) b.tme = in->tme != 0;
        if (in->keyid_bits >= 0) b.keyid_bits = in->keyid_bits;
        if (in->tme_bypass >= 0) b.tme_bypass = in->tme_bypass != 0;
    }
    struct mc_cpu_features f;
    mc_cpu_decode(p, &f);
    if (p->vendor == MC_VENDOR_AMD) {
        if (b.tme || b.keyid_bits || b.tme_bypass)
            return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' is AMD: it has no Intel TME/MKTME settings", p->name);
        if ((b.sme || b.tsme) && !f.sme)
            return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' does not enumerate SME", p->name);
        if (b.tsme)
            b.sme = 1; /* TSME needs SYSCFG[23] (digest 1.7) */
    } else {
        if (b.sme || b.tsme)
            return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' is Intel: it has no AMD SME/TSME settings", p->name);
        if (b.tme && !f.tme)
            return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' does not enumerate TME", p->name);
        if (b.keyid_bits < 0 || (unsigned)b.keyid_bits > f.max_keyid_bits)
            return mc_seterr(err, MC_E_RANGE, "MK_TME_KEYID_BITS %d exceeds MAX_KEYID_BITS %u of '%s'", b.keyid_bits,
                             f.max_keyid_bits, p->name);
        if (b.keyid_bits && !b.tme)
            return mc_seterr(err, MC_E_UNSUPPORTED, "MKTME KeyID bits need TME enabled");
        if (b.tme_bypass && !f.bypass_supported)
            return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' does not support TME encryption bypass", p->name);
    }
    *out = b;
    return MC_OK;
}

mc_status mc_cpu_platform(const struct mc_cpu_profile *p, const struct mc_bios *bios, struct memctl_platform *out,
                          struct mc_error *err)
{
    struct mc_bios b;
    mc_status st = mc_cpu_bios_resolve(p, bios, &b, err);
    if (st)
        return st;
    struct mc_cpu_features f;
    mc_cpu_decode(p, &f);
    struct memctl_platform pl = {0};
    pl.phys_bits = f.phys_bits;
    if (p->vendor == MC_VENDOR_AMD) {
        pl.cbit = f.cbit;
        pl.reduction = f.reduction;
        pl.coherent = f.sme_coherent;
        pl.mode = b.tsme ? MEMCTL_MODE_TSME : b.sme ? MEMCTL_MODE_SME : MEMCTL_MODE_OFF;
    } else {
        pl.mode = b.tme ? MEMCTL_MODE_TME : MEMCTL_MODE_OFF;
        pl.keyid_bits = b.tme ? (unsigned)b.keyid_bits : 0;
        pl.tme_bypass = b.tme_bypass;
    }
    st = memctl_platform_check(&pl, err);
    if (st)
        return st;
    *out = pl;
    return MC_OK;
}

uint64_t mc_cpu_syscfg(const struct mc_cpu_profile *p, const struct mc_bios *bios)
{
    struct mc_bios b;
    if (!p || p->vendor != MC_VENDOR_AMD || mc_cpu_bios_resolve(p, bios, &b, NULL))
        return 0;
    return p->syscfg_base | ((b.sme || b.tsme) ? MC_SYSCFG_MEM_ENCRYPT_MOD_EN : 0);
}

uint64_t mc_cpu_hwcr(const struct mc_cpu_profile *p, const struct mc_bios *bios)
{
    struct mc_bios b;
    if (!p || p->vendor != MC_VENDOR_AMD || mc_cpu_bios_resolve(p, bios, &b, NULL))
        return 0;
    return b.smm_lock ? MC_HWCR_SMMLOCK : 0;
}

uint64_t mc_cpu_tme_activate(const struct mc_cpu_profile *p, const struct mc_bios *bios)
{
    struct mc_bios b;
    if (!p || p->vendor != MC_VENDOR_INTEL || mc_cpu_bios_resolve(p, bios, &b, NULL) || !b.tme)
        return 0;
    /* Lock (0) + enable (1), policy 0 = AES-XTS-128 for KeyID 0, bypass (31), KEYID_BITS
     * (35:32), and when MKTME is on MK_TME_CRYPTO_ALGS (63:48) = every non-integrity algorithm
     * the capability enumerates (bit 48 AES-XTS-128, bit 50 AES-XTS-256). */
    uint64_t algs = p->tme_capability & 0x5u;
    return 0x3ull | (b.tme_bypass ? 1ull << 31 : 0) | ((uint64_t)b.keyid_bits << 32) |
           (b.keyid_bits ? algs << 48 : 0);
}

/* Bit names as AMD's APM vol. 2 and Linux (msr-index.h) spell them. */
const char *mc_syscfg_bit_name(unsigned bit)
{
    switch (bit) {
    case 18: return "MtrrFixDramEn";
    case 19: return "MtrrFixDramModEn";
    case 20: return "MtrrVarDramEn";
    case 21: return "MtrrTom2En";
    case 22: return "Tom2ForceMemTypeWB";
    case 23: return "MemEncryptionModEn";
    case 24: return "SecureNestedPagingEn";
    case 25: return "VMPLEn";
    default: return NULL;
    }
}

const char *mc_hwcr_bit_name(unsigned bit)
{
    switch (bit) {
    case 0: return "SmmLock";
    case 1: return "SLOWFENCE";
    case 3: return "TlbCacheDis";
    case 4: return "INVDWBINVD";
    case 7: return "DisLock";
    case 8: return "IgnneEm";
    case 12: return "HltXSpCycEn";
    case 13: return "SmiSpCycDis";
    case 14: return "RsmSpCycDis";
    case 17: return "Wrap32Dis";
    case 18: return "McStatusWrEn";
    case 21: return "LockTscToCurrentP0";
    case 24: return "TscFreqSel";
    case 30: return "IRPerfEn";
    default: return NULL;
    }
}

uint32_t mc_cpu_fms(const struct mc_cpu_profile *p)
{
    struct mc_cpuid_regs r;
    if (!p)
        return 0;
    if (mc_cpuid(p, 1, 0, &r) && r.eax)
        return r.eax;
    /* Composed as CPUID Fn0000_0001 EAX encodes it; stepping 1 (the B1 parts of the EPYC
     * generations the profiles model; chosen, no profile records a stepping). */
    uint32_t fam = p->family, mod = p->model_id, step = 1;
    uint32_t eax = step | (mod & 0xF) << 4 | (mod >> 4) << 16;
    if (fam > 0xF)
        eax |= 0xFu << 8 | (fam - 0xF) << 20;
    else
        eax |= fam << 8;
    return eax;
}
