/* memcrypt tme status — Intel TME/MKTME enumeration and MSRs of a platform profile, decoded:
 * CPUID.(7,0):ECX[13] and EDX[18], CPUID leaf 0x1B, IA32_TME_CAPABILITY (0x981),
 * IA32_TME_ACTIVATE (0x982) as the profile's BIOS leaves it, the exclusion MSRs, 0x9FF, 0x87. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <memcrypt/cpu.h>
#include <memcrypt/json.h>
#include <memcrypt/machine.h>
#include <memcrypt/pconfig.h>
#include <memcrypt/tme.h>

#include "cli.h"

static const char *policy_name(unsigned p)
{
    switch (p) {
    case MC_TME_POLICY_AES_XTS_128: return "AES-XTS-128";
    case MC_TME_POLICY_AES_XTS_128_INTEGRITY: return "AES-XTS-128 with integrity";
    case MC_TME_POLICY_AES_XTS_256: return "AES-XTS-256";
    }
    return "invalid";
}

static void algs_text(uint32_t a, char *buf, size_t n)
{
    static const char *const names[] = {"AES-XTS-128", "AES-XTS-128-integrity", "AES-XTS-256", "AES-XTS-256-integrity"};
    buf[0] = 0;
    for (unsigned i = 0; i < 4; i++)
        if (a & (1u << i)) {
            size_t l = strlen(buf);
            snprintf(buf + l, n - l, "%s%s", l ? ", " : "", names[i]);
        }
    if (!buf[0])
        snprintf(buf, n, "none");
}

static int run_tme_status(int argc, char **argv)
{
    static const struct option lo[] = {{"json", no_argument, NULL, 'j'}, {"platform", required_argument, NULL, 'p'}, {0}};
    int json = 0, c;
    const char *plat = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c == 'p')
            plat = optarg;
        else
            return mc_cli_usage_error(argv[0], "unknown option");
    }
    if (optind < argc)
        return mc_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
    if (!plat)
        return mc_cli_usage_error(argv[0], "--platform NAME is required");
    struct mc_error e;
    const struct mc_cpu_profile *p;
    if (mc_cpu_profile_find(plat, &p, &e) != MC_OK)
        return mc_cli_fail(argv[0], &e);
    struct mc_cpuid_regs l7 = {0}, l1b[4];
    mc_cpuid(p, 7, 0, &l7);
    unsigned nsub = 0;
    for (; nsub < 4; nsub++) {
        mc_cpuid(p, 0x1B, nsub, &l1b[nsub]);
        if ((l1b[nsub].eax & 0xFFF) == 0)
            break;
    }
    bool tme = (l7.ecx >> 13) & 1, pconfig = (l7.edx >> 18) & 1;
    if (p->vendor != MC_VENDOR_INTEL || !tme) {
        if (json) {
            struct mc_json j;
            mc_json_begin(&j, stdout);
            mc_json_obj(&j, NULL);
            mc_json_str(&j, "platform", p->name);
            mc_json_bool(&j, "tme", tme);
            mc_json_bool(&j, "pconfig", pconfig);
            mc_json_finish(&j);
        } else {
            printf("platform %s (%s): CPUID.(7,0):ECX[13] TME = %d, EDX[18] PCONFIG = %d — no TME MSRs.\n", p->name,
                   p->model, tme, pconfig);
        }
        return MC_EXIT_OK;
    }
    struct mc_machine_config cfg;
    mc_machine_config_init(&cfg);
    cfg.platform = p->name;
    cfg.dram_size = 1u << 20;
    static const uint8_t seed[] = "tme-status";
    cfg.seed = seed;
    cfg.seed_len = sizeof seed;
    struct mc_machine *m = NULL;
    struct mc_tme *t = NULL;
    if (mc_machine_create(&cfg, &m, &e) != MC_OK)
        return mc_cli_fail(argv[0], &e);
    if (mc_tme_attach(m, &t, &e) != MC_OK) {
        mc_machine_destroy(m);
        return mc_cli_fail(argv[0], &e);
    }
    static const uint32_t msrs[] = {MC_MSR_IA32_TME_CAPABILITY, MC_MSR_IA32_TME_ACTIVATE, MC_MSR_IA32_TME_EXCLUDE_MASK,
                                    MC_MSR_IA32_TME_EXCLUDE_BASE, MC_MSR_MK_TME_CORE_ACTIVATE,
                                    MC_MSR_IA32_MKTME_KEYID_PARTITIONING};
    static const char *const mnames[] = {"IA32_TME_CAPABILITY", "IA32_TME_ACTIVATE", "IA32_TME_EXCLUDE_MASK",
                                         "IA32_TME_EXCLUDE_BASE", "MK_TME_CORE_ACTIVATE",
                                         "IA32_MKTME_KEYID_PARTITIONING"};
    uint64_t val[6];
    bool ok[6];
    for (int i = 0; i < 6; i++) {
        struct mc_fault f;
        ok[i] = mc_machine_rdmsr(m, msrs[i], &val[i], &f, NULL) == MC_OK;
        if (!ok[i])
            val[i] = 0;
    }
    const uint64_t cap = val[0], act = val[1];
    unsigned maxk = (unsigned)((cap >> 32) & 0xF), maxkeys = (unsigned)((cap >> 36) & 0x7FFF);
    unsigned pol = (unsigned)((act >> 4) & 0xF), k = (unsigned)((act >> 32) & 0xF);
    char capalgs[96], actalgs[96];
    algs_text((uint32_t)(cap & 0xF), capalgs, sizeof capalgs);
    algs_text((uint32_t)((act >> 48) & 0xF), actalgs, sizeof actalgs);
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "platform", p->name);
        mc_json_bool(&j, "tme", tme);
        mc_json_bool(&j, "pconfig", pconfig);
        mc_json_arr(&j, "cpuid_1b");
        for (unsigned i = 0; i <= nsub && i < 4; i++) {
            mc_json_obj(&j, NULL);
            mc_json_u64(&j, "subleaf", i);
            mc_json_hex64(&j, "eax", l1b[i].eax);
            mc_json_hex64(&j, "ebx", l1b[i].ebx);
            mc_json_hex64(&j, "ecx", l1b[i].ecx);
            mc_json_hex64(&j, "edx", l1b[i].edx);
            mc_json_end(&j);
        }
        mc_json_end(&j);
        mc_json_obj(&j, "msrs");
        for (int i = 0; i < 6; i++)
            if (ok[i])
                mc_json_hex64(&j, mnames[i], val[i]);
        mc_json_end(&j);
        mc_json_obj(&j, "capability");
        mc_json_str(&j, "algorithms", capalgs);
        mc_json_bool(&j, "bypass_supported", (cap >> 31) & 1);
        mc_json_u64(&j, "max_keyid_bits", maxk);
        mc_json_u64(&j, "max_keys", maxkeys);
        mc_json_end(&j);
        mc_json_obj(&j, "activate");
        mc_json_bool(&j, "locked", act & 1);
        mc_json_bool(&j, "enabled", (act >> 1) & 1);
        mc_json_str(&j, "key_select", (act >> 2) & 1 ? "restore saved key" : "new random key");
        mc_json_bool(&j, "save_key", (act >> 3) & 1);
        mc_json_str(&j, "policy", policy_name(pol));
        mc_json_bool(&j, "bypass", (act >> 31) & 1);
        mc_json_u64(&j, "keyid_bits", k);
        mc_json_str(&j, "mktme_algorithms", actalgs);
        mc_json_u64(&j, "keyids", mc_tme_num_keyids(t));
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("platform %s (%s)\n", p->name, p->model);
        printf("CPUID.(7,0):ECX[13] TME        %d\nCPUID.(7,0):EDX[18] PCONFIG    %d\n", tme, pconfig);
        for (unsigned i = 0; i <= nsub && i < 4; i++)
            printf("CPUID.(1BH,%u)  eax=%08x ebx=%08x ecx=%08x edx=%08x  %s\n", i, l1b[i].eax, l1b[i].ebx, l1b[i].ecx,
                   l1b[i].edx, (l1b[i].eax & 0xFFF) == 1 ? "target-identifier subleaf" : "invalid (end of list)");
        for (int i = 0; i < 6; i++)
            printf("MSR 0x%03x %-30s %s0x%016llx\n", msrs[i], mnames[i], ok[i] ? "" : "#GP ", (unsigned long long)val[i]);
        printf("\nIA32_TME_CAPABILITY: algorithms %s; bypass %s; MK_TME_MAX_KEYID_BITS %u; MK_TME_MAX_KEYS %u\n",
               capalgs, (cap >> 31) & 1 ? "supported" : "no", maxk, maxkeys);
        printf("IA32_TME_ACTIVATE:   lock %d, enable %d, key select %s, save key %d, policy %s, bypass %d,\n"
               "                     MK_TME_KEYID_BITS %u (KeyID = PA bits %u:%u), MKTME algorithms %s\n",
               (int)(act & 1), (int)((act >> 1) & 1), (act >> 2) & 1 ? "restore" : "new key", (int)((act >> 3) & 1),
               policy_name(pol), (int)((act >> 31) & 1), k, k ? mc_tme_get_config(t)->maxphyaddr - 1 : 0,
               k ? mc_tme_keyid_shift(t) : 0, actalgs);
        printf("MKTME KeyIDs usable: %u (min(2^K-1, MAX_KEYS)); KeyID 0 = TME key\n", mc_tme_num_keyids(t));
    }
    mc_machine_destroy(m);
    mc_tme_destroy(t);
    return MC_EXIT_OK;
}

const struct mc_cli_cmd mc_cli_tme[] = {
    {"tme status", "Intel TME/MKTME enumeration and MSRs of a platform, decoded",
     "usage: memcrypt tme status --platform NAME [--json]\n\n"
     "Shows CPUID.(7,0):ECX[13] (TME) and EDX[18] (PCONFIG), CPUID leaf 0x1B, and the TME MSRs\n"
     "(0x981 capability, 0x982 activation as the profile's BIOS leaves it, 0x983/0x984 exclusion,\n"
     "0x9FF, 0x87), decoded. Example: memcrypt tme status --platform icelake-sp\n",
     run_tme_status},
    {0},
};
