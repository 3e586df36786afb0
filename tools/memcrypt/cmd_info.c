/* memcrypt info — platform profiles: CPUID, MSRs, decoded memory-encryption fields. */
#include <stdio.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/cpu.h>
#include <memcrypt/json.h>
#include <memcrypt/mc.h>
#include <memcrypt/tme_status.h>

#include "cli.h"

static const char *mode_name(enum memctl_mode m)
{
    switch (m) {
    case MEMCTL_MODE_OFF: return "off";
    case MEMCTL_MODE_SME: return "sme";
    case MEMCTL_MODE_TSME: return "tsme";
    case MEMCTL_MODE_TME: return "tme";
    }
    return "?";
}

static void list_profiles(int json)
{
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_arr(&j, NULL);
        for (size_t i = 0; i < mc_cpu_profile_count(); i++) {
            const struct mc_cpu_profile *p = mc_cpu_profile_at(i);
            mc_json_obj(&j, NULL);
            mc_json_str(&j, "name", p->name);
            mc_json_str(&j, "vendor", p->vendor == MC_VENDOR_AMD ? "AMD" : "Intel");
            mc_json_str(&j, "model", p->model);
            mc_json_str(&j, "generation", p->generation);
            mc_json_end(&j);
        }
        mc_json_finish(&j);
        return;
    }
    for (size_t i = 0; i < mc_cpu_profile_count(); i++) {
        const struct mc_cpu_profile *p = mc_cpu_profile_at(i);
        printf("%-20s %-6s %-26s %s\n", p->name, p->vendor == MC_VENDOR_AMD ? "AMD" : "Intel", p->model, p->generation);
    }
}

struct msr_row {
    const char *name;
    uint32_t msr;
    uint64_t val;
    const char *(*bit_name)(unsigned bit); /* NULL: no per-bit decode */
};

/* Every set bit by name, "bitN" for bits without one. */
static void msr_bits_text(const struct msr_row *r, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (unsigned b = 0; b < 64 && k < n; b++) {
        if (!(r->val >> b & 1))
            continue;
        const char *nm = r->bit_name(b);
        k += nm ? (size_t)snprintf(buf + k, n - k, "%s%s[%u]", k ? " " : "", nm, b)
                : (size_t)snprintf(buf + k, n - k, "%sbit%u", k ? " " : "", b);
    }
}

static void msr_bits_json(struct mc_json *j, const struct msr_row *r)
{
    mc_json_arr(j, "bits");
    for (unsigned b = 0; b < 64; b++) {
        if (!(r->val >> b & 1))
            continue;
        char tmp[16];
        const char *nm = r->bit_name(b);
        if (!nm) {
            snprintf(tmp, sizeof tmp, "bit%u", b);
            nm = tmp;
        }
        mc_json_obj(j, NULL);
        mc_json_u64(j, "bit", b);
        mc_json_str(j, "name", nm);
        mc_json_end(j);
    }
    mc_json_end(j);
}

static const char *sev_status_bit_name(unsigned bit)
{
    static const char *const n[] = {"SEV", "SEV-ES", "SEV-SNP"};
    return bit < 3 ? n[bit] : NULL;
}

/* SEV-ES (and SNP) guests take ASIDs 1..EDX-1 (KVM's split). */
static uint32_t es_asids(const struct mc_cpu_features *f)
{
    if (!f->sev_es || f->min_sev_asid <= 1)
        return 0;
    return f->min_sev_asid - 1 < f->max_asid ? f->min_sev_asid - 1 : f->max_asid;
}

static int show(const struct mc_cpu_profile *p, const struct mc_bios *bios_in, int json)
{
    struct mc_error e;
    struct mc_bios b;
    struct memctl_platform pl;
    if (mc_cpu_bios_resolve(p, bios_in, &b, &e) || mc_cpu_platform(p, &b, &pl, &e))
        return mc_cli_fail("info", &e);
    struct mc_cpu_features f;
    mc_cpu_decode(p, &f);
    struct msr_row msrs[3 + MC_TME_STATUS_NMSR];
    size_t nm = 0;
    if (p->vendor == MC_VENDOR_AMD) {
        msrs[nm++] = (struct msr_row){"SYSCFG", MC_MSR_SYSCFG, mc_cpu_syscfg(p, &b), mc_syscfg_bit_name};
        msrs[nm++] = (struct msr_row){"HWCR", MC_MSR_HWCR, mc_cpu_hwcr(p, &b), mc_hwcr_bit_name};
        msrs[nm++] = (struct msr_row){"SEV_STATUS (host)", MC_MSR_SEV_STATUS, 0, sev_status_bit_name};
    }
    /* Intel: the TME MSRs as RDMSR answers them with these BIOS settings, decoded by the same
     * code as `memcrypt tme status`. */
    struct mc_tme_status ts;
    if (mc_tme_status_get(p, &b, &ts, &e))
        return mc_cli_fail("info", &e);
    for (int i = 0; ts.tme && i < MC_TME_STATUS_NMSR; i++)
        if (ts.ok[i])
            msrs[nm++] = (struct msr_row){ts.msr_name[i], ts.msr[i], ts.value[i], NULL};
    unsigned usable = memctl_platform_addr_bits(&pl);
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "name", p->name);
        mc_json_str(&j, "vendor", p->vendor == MC_VENDOR_AMD ? "AMD" : "Intel");
        mc_json_str(&j, "model", p->model);
        mc_json_str(&j, "generation", p->generation);
        mc_json_hex64(&j, "family", p->family);
        mc_json_hex64(&j, "model_id", p->model_id);
        mc_json_arr(&j, "cpuid");
        for (size_t i = 0; i < p->ncpuid; i++) {
            const struct mc_cpuid_entry *c = &p->cpuid[i];
            mc_json_obj(&j, NULL);
            mc_json_hex64(&j, "leaf", c->leaf);
            mc_json_u64(&j, "subleaf", c->subleaf);
            mc_json_hex64(&j, "eax", c->r.eax);
            mc_json_hex64(&j, "ebx", c->r.ebx);
            mc_json_hex64(&j, "ecx", c->r.ecx);
            mc_json_hex64(&j, "edx", c->r.edx);
            mc_json_end(&j);
        }
        mc_json_end(&j);
        mc_json_obj(&j, "decoded");
        mc_json_u64(&j, "phys_addr_bits", f.phys_bits);
        mc_json_u64(&j, "linear_addr_bits", f.lin_bits);
        if (p->vendor == MC_VENDOR_AMD) {
            mc_json_bool(&j, "sme", f.sme);
            mc_json_bool(&j, "sev", f.sev);
            mc_json_bool(&j, "vm_page_flush", f.vm_page_flush);
            mc_json_bool(&j, "sev_es", f.sev_es);
            mc_json_bool(&j, "sev_snp", f.sev_snp);
            mc_json_bool(&j, "vmpl", f.vmpl);
            mc_json_bool(&j, "sme_coherent", f.sme_coherent);
            mc_json_u64(&j, "cbit", f.cbit);
            mc_json_u64(&j, "phys_addr_reduction", f.reduction);
            mc_json_u64(&j, "vmpls", f.vmpls);
            mc_json_u64(&j, "max_sev_asid", f.max_asid);
            mc_json_u64(&j, "min_sev_asid", f.min_sev_asid);
            mc_json_u64(&j, "sev_es_asids", es_asids(&f));
            mc_json_bool(&j, "rmpread", f.rmpread);
            char v[16];
            snprintf(v, sizeof v, "%u.%u", p->fw_api_major, p->fw_api_minor);
            mc_json_str(&j, "sev_fw_api", v);
        } else {
            mc_json_bool(&j, "tme", f.tme);
            mc_json_bool(&j, "pconfig", f.pconfig);
            mc_json_bool(&j, "pconfig_mktme_target", f.pconfig_mktme_target);
            mc_json_bool(&j, "aes_xts_128", f.xts128);
            mc_json_bool(&j, "aes_xts_256", f.xts256);
            mc_json_bool(&j, "bypass_supported", f.bypass_supported);
            mc_json_u64(&j, "max_keyid_bits", f.max_keyid_bits);
            mc_json_u64(&j, "max_keys", f.max_keys);
        }
        mc_json_end(&j);
        mc_json_arr(&j, "msrs");
        for (size_t i = 0; i < nm; i++) {
            mc_json_obj(&j, NULL);
            mc_json_str(&j, "name", msrs[i].name);
            mc_json_hex64(&j, "msr", msrs[i].msr);
            mc_json_hex64(&j, "value", msrs[i].val);
            if (msrs[i].bit_name)
                msr_bits_json(&j, &msrs[i]);
            mc_json_end(&j);
        }
        mc_json_end(&j);
        if (ts.tme) {
            mc_json_obj(&j, "tme");
            mc_tme_status_json(&ts, &j);
            mc_json_end(&j);
        }
        mc_json_obj(&j, "platform");
        mc_json_str(&j, "mode", mode_name(pl.mode));
        mc_json_u64(&j, "usable_addr_bits", usable);
        mc_json_u64(&j, "keyid_bits", pl.keyid_bits);
        mc_json_end(&j);
        mc_json_str(&j, "notes", p->notes);
        mc_json_finish(&j);
        return MC_EXIT_OK;
    }
    printf("%s: %s, %s (family %02Xh model %02Xh)\n", p->name, p->model, p->generation, p->family, p->model_id);
    printf("\nCPUID            EAX        EBX        ECX        EDX\n");
    for (size_t i = 0; i < p->ncpuid; i++) {
        const struct mc_cpuid_entry *c = &p->cpuid[i];
        printf("%08X.%-2u    %08X   %08X   %08X   %08X\n", c->leaf, c->subleaf, c->r.eax, c->r.ebx, c->r.ecx, c->r.edx);
    }
    printf("\naddress sizes: %u bits physical, %u bits linear\n", f.phys_bits, f.lin_bits);
    if (p->vendor == MC_VENDOR_AMD) {
        printf("8000_001F EAX: SME %d, SEV %d, VM_PAGE_FLUSH %d, SEV-ES %d, SEV-SNP %d, VMPL %d, coherent %d\n", f.sme, f.sev,
               f.vm_page_flush, f.sev_es, f.sev_snp, f.vmpl, f.sme_coherent);
        printf("8000_001F EBX: C-bit %u, physical-address reduction %u, VMPLs %u\n", f.cbit, f.reduction, f.vmpls);
        uint32_t es = es_asids(&f);
        if (es)
            printf("8000_001F ECX/EDX: %u ASIDs; SEV-ES%s ASIDs 1..%u, SEV ASIDs %u..%u (EDX = first SEV ASID)\n",
                   f.max_asid, f.sev_snp ? "/SNP" : "", es, f.min_sev_asid, f.max_asid);
        else
            printf("8000_001F ECX/EDX: %u ASIDs; no SEV-ES%s ASIDs (EDX = %u), SEV ASIDs %u..%u\n", f.max_asid,
                   f.sev_snp ? "/SNP" : "", f.min_sev_asid, f.min_sev_asid ? f.min_sev_asid : 1, f.max_asid);
        if (f.rmpread)
            printf("8000_001F EAX[21]: RMPREAD\n");
        printf("SEV firmware API: %u.%u\n", p->fw_api_major, p->fw_api_minor);
    } else {
        printf("TME %d, PCONFIG %d (MKTME target %d)\n", f.tme, f.pconfig, f.pconfig_mktme_target);
        printf("TME capability: AES-XTS-128 %d, AES-XTS-256 %d, bypass %d, MAX_KEYID_BITS %u, MAX_KEYS %u\n", f.xts128,
               f.xts256, f.bypass_supported, f.max_keyid_bits, f.max_keys);
    }
    if (!ts.tme)
        printf("\nMSRs after BIOS:\n");
    for (size_t i = 0; !ts.tme && i < nm; i++) {
        char bits[400] = "";
        if (msrs[i].bit_name)
            msr_bits_text(&msrs[i], bits, sizeof bits);
        printf("  %-24s %08X  = 0x%016llx%s%s\n", msrs[i].name, msrs[i].msr, (unsigned long long)msrs[i].val,
               bits[0] ? "  " : "", bits);
    }
    if (ts.tme) {
        printf("\nTME/MKTME after BIOS, decoded:\n");
        mc_tme_status_print(&ts, stdout);
    }
    if (!ts.tme && p->vendor == MC_VENDOR_INTEL)
        printf("\nno TME MSRs (CPUID.(7,0):ECX[13] = 0)\n");
    printf("\nmemory encryption mode: %s; usable physical address bits: %u", mode_name(pl.mode), usable);
    if (pl.mode == MEMCTL_MODE_TME)
        printf("; KeyID bits: %u", pl.keyid_bits);
    printf("\nnotes: %s\n", p->notes);
    return MC_EXIT_OK;
}

enum { O_LIST = 1, O_TSME, O_SME, O_KEYID_BITS, O_TME_BYPASS };

static const struct mc_opt info_opts[] = {
    {"list", 0, NULL, "list the profiles", O_LIST, 0},
    {"tsme", 0, NULL, "BIOS: Transparent SME on (AMD)", O_TSME, 0},
    {"sme", 0, "on|off", "BIOS: SYSCFG[23] MemEncryptionModEn (AMD)", O_SME, 0},
    {"keyid-bits", 0, "N", "BIOS: MK_TME_KEYID_BITS (Intel)", O_KEYID_BITS, 0},
    {"tme-bypass", 0, NULL, "BIOS: TME encryption bypass, IA32_TME_ACTIVATE[31] (Intel, if enumerated)",
     O_TME_BYPASS, 0},
    {0},
};

static int run_info(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    int list = 0;
    struct mc_bios b = MC_BIOS_DEFAULTS;
    struct mc_args a;
    int c;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0) {
        switch (c) {
        case O_LIST: list = 1; break;
        case O_TSME: b.tsme = 1; break;
        case O_TME_BYPASS: b.tme_bypass = 1; break;
        case O_SME:
            if (strcmp(a.val, "on") && strcmp(a.val, "off"))
                return mc_cli_usage_error(argv[0], "--sme takes on or off");
            b.sme = !strcmp(a.val, "on");
            break;
        case O_KEYID_BITS: {
            uint64_t v;
            struct mc_error e;
            if (mc_parse_u64(a.val, &v, &e) || v > 15)
                return mc_cli_usage_error(argv[0], "--keyid-bits takes 0..15");
            b.keyid_bits = (int)v;
            break;
        }
        }
    }
    if (c < 0)
        return a.rc;
    const int json = a.json;
    const char *name = a.platform;
    if (list) {
        list_profiles(json);
        return MC_EXIT_OK;
    }
    if (!name)
        return mc_cli_usage_error(argv[0], "give --platform NAME or --list");
    const struct mc_cpu_profile *p;
    struct mc_error e;
    if (mc_cpu_profile_find(name, &p, &e))
        return mc_cli_fail(argv[0], &e);
    return show(p, &b, json);
}

const struct mc_cli_cmd mc_cli_info[] = {
    {.path = "info",
     .summary = "show a platform profile: CPUID, MSRs, C-bit, ASIDs, KeyIDs",
     .synopsis = "--list [--json]\n"
                 "--platform NAME [--tsme] [--sme on|off] [--keyid-bits N] [--tme-bypass] [--json]",
     .about = "Prints the CPUID leaves (raw and decoded), the MSR values after the BIOS settings (every set\n"
              "bit of SYSCFG and HWCR by name), the\n"
              "SEV firmware API version and the resulting memory-encryption mode. On Intel profiles the\n"
              "TME MSRs (0x981-0x984, 0x9FF, 0x87) and CPUID leaf 0x1B are decoded as by `tme status`.\n",
     .opts = info_opts,
     .common = MC_CO_JSON | MC_CO_PLATFORM,
     .examples = "memcrypt info --list\n"
                 "memcrypt info --platform milan --json\n",
     .run = run_info},
    {0},
};
