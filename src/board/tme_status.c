/* memcrypt — Intel TME/MKTME status of a profile, decoded. See include/memcrypt/tme_status.h. */
#include <string.h>

#include <memcrypt/board.h>
#include <memcrypt/json.h>
#include <memcrypt/machine.h>
#include <memcrypt/tme.h>
#include <memcrypt/tme_status.h>

const char *mc_tme_policy_name(unsigned p)
{
    switch (p) {
    case MC_TME_POLICY_AES_XTS_128: return "AES-XTS-128";
    case MC_TME_POLICY_AES_XTS_128_INTEGRITY: return "AES-XTS-128 with integrity";
    case MC_TME_POLICY_AES_XTS_256: return "AES-XTS-256";
    }
    return "invalid";
}

void mc_tme_algs_text(uint32_t a, char *buf, size_t n)
{
    static const char *const names[] = {"AES-XTS-128", "AES-XTS-128-integrity", "AES-XTS-256", "AES-XTS-256-integrity"};
    if (!buf || !n)
        return;
    buf[0] = 0;
    for (unsigned i = 0; i < 4; i++)
        if (a & (1u << i)) {
            size_t l = strlen(buf);
            snprintf(buf + l, n - l, "%s%s", l ? ", " : "", names[i]);
        }
    if (!buf[0])
        snprintf(buf, n, "none");
}

static const uint32_t msrs[MC_TME_STATUS_NMSR] = {MC_MSR_IA32_TME_CAPABILITY,   MC_MSR_IA32_TME_ACTIVATE,
                                                  MC_MSR_IA32_TME_EXCLUDE_MASK, MC_MSR_IA32_TME_EXCLUDE_BASE,
                                                  MC_MSR_MK_TME_CORE_ACTIVATE,  MC_MSR_IA32_MKTME_KEYID_PARTITIONING};
static const char *const mnames[MC_TME_STATUS_NMSR] = {"IA32_TME_CAPABILITY",   "IA32_TME_ACTIVATE",
                                                       "IA32_TME_EXCLUDE_MASK", "IA32_TME_EXCLUDE_BASE",
                                                       "MK_TME_CORE_ACTIVATE",  "IA32_MKTME_KEYID_PARTITIONING"};

mc_status mc_tme_status_get(const struct mc_cpu_profile *p, const struct mc_bios *bios, struct mc_tme_status *out,
                            struct mc_error *err)
{
    if (!p || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_tme_status_get needs a profile and an output structure");
    struct mc_bios b;
    mc_status st = mc_cpu_bios_resolve(p, bios, &b, err);
    if (st)
        return st;
    struct mc_tme_status s;
    memset(&s, 0, sizeof s);
    s.profile = p;
    struct mc_cpuid_regs l7;
    mc_cpuid(p, 7, 0, &l7);
    s.tme = (l7.ecx >> 13) & 1;
    s.pconfig = (l7.edx >> 18) & 1;
    if (p->vendor != MC_VENDOR_INTEL || !s.tme) {
        *out = s;
        return MC_OK;
    }
    for (s.n1b = 0; s.n1b < MC_TME_STATUS_N1B;) {
        mc_cpuid(p, 0x1B, s.n1b, &s.cpuid_1b[s.n1b]);
        if ((s.cpuid_1b[s.n1b++].eax & 0xFFF) == 0)
            break;
    }
    /* The MSRs as a CPU with these BIOS settings answers them: a small board, whose TME unit
     * adopts what the BIOS programmed. */
    struct mc_board_config cfg;
    st = mc_board_config_init(&cfg, p->name, err);
    if (st != MC_OK)
        return st;
    cfg.machine.dram_size = 1u << 20;
    static const uint8_t seed[] = "tme-status";
    cfg.machine.seed = seed;
    cfg.machine.seed_len = sizeof seed;
    cfg.machine.bios = b;
    struct mc_board *bd = NULL;
    st = mc_board_create(&cfg, &bd, err);
    if (st != MC_OK)
        return st;
    struct mc_machine *m = mc_board_machine(bd);
    for (int i = 0; i < MC_TME_STATUS_NMSR; i++) {
        struct mc_fault f;
        s.msr[i] = msrs[i];
        s.msr_name[i] = mnames[i];
        s.ok[i] = mc_machine_rdmsr(m, msrs[i], &s.value[i], &f, NULL) == MC_OK;
        if (!s.ok[i])
            s.value[i] = 0;
    }
    const uint64_t cap = s.value[0], act = s.value[1];
    s.cap_algs = (uint32_t)(cap & 0xF);
    s.bypass_supported = (cap & MC_TME_CAP_BYPASS) != 0;
    s.max_keyid_bits = (unsigned)((cap >> MC_TME_CAP_MAX_KEYID_BITS_SHIFT) & MC_TME_CAP_MAX_KEYID_BITS_MASK);
    s.max_keys = (unsigned)((cap >> MC_TME_CAP_MAX_KEYS_SHIFT) & MC_TME_CAP_MAX_KEYS_MASK);
    s.locked = (act & MC_TME_ACT_LOCK) != 0;
    s.enabled = (act & MC_TME_ACT_ENABLE) != 0;
    s.key_restore = (act & MC_TME_ACT_KEY_SELECT) != 0;
    s.save_key = (act & MC_TME_ACT_SAVE_KEY) != 0;
    s.policy = (unsigned)((act >> MC_TME_ACT_POLICY_SHIFT) & MC_TME_ACT_POLICY_MASK);
    s.bypass = (act & MC_TME_ACT_BYPASS) != 0;
    s.keyid_bits = (unsigned)((act >> MC_TME_ACT_KEYID_BITS_SHIFT) & MC_TME_ACT_KEYID_BITS_MASK);
    s.mktme_algs = (uint32_t)((act >> MC_TME_ACT_CRYPTO_ALGS_SHIFT) & 0xF);
    s.maxphyaddr = mc_tme_get_config(mc_board_tme(bd))->maxphyaddr;
    s.keyids = mc_tme_num_keyids(mc_board_tme(bd));
    mc_board_destroy(bd);
    *out = s;
    return MC_OK;
}

void mc_tme_status_print(const struct mc_tme_status *s, FILE *out)
{
    if (!s || !out)
        return;
    fprintf(out, "CPUID.(7,0):ECX[13] TME        %d\nCPUID.(7,0):EDX[18] PCONFIG    %d\n", s->tme, s->pconfig);
    if (!s->tme)
        return;
    for (unsigned i = 0; i < s->n1b; i++) {
        const struct mc_cpuid_regs *r = &s->cpuid_1b[i];
        fprintf(out, "CPUID.(1BH,%u)  eax=%08x ebx=%08x ecx=%08x edx=%08x  %s\n", i, r->eax, r->ebx, r->ecx, r->edx,
                (r->eax & 0xFFF) == 1 ? "target-identifier subleaf" : "invalid (end of list)");
    }
    for (int i = 0; i < MC_TME_STATUS_NMSR; i++)
        fprintf(out, "MSR 0x%03x %-30s %s0x%016llx\n", s->msr[i], s->msr_name[i], s->ok[i] ? "" : "#GP ",
                (unsigned long long)s->value[i]);
    char capalgs[96], actalgs[96];
    mc_tme_algs_text(s->cap_algs, capalgs, sizeof capalgs);
    mc_tme_algs_text(s->mktme_algs, actalgs, sizeof actalgs);
    fprintf(out, "\nIA32_TME_CAPABILITY: algorithms %s; bypass %s; MK_TME_MAX_KEYID_BITS %u; MK_TME_MAX_KEYS %u\n",
            capalgs, s->bypass_supported ? "supported" : "no", s->max_keyid_bits, s->max_keys);
    fprintf(out,
            "IA32_TME_ACTIVATE:   lock %d, enable %d, key select %s, save key %d, policy %s, bypass %d,\n"
            "                     MK_TME_KEYID_BITS %u (KeyID = PA bits %u:%u), MKTME algorithms %s\n",
            s->locked, s->enabled, s->key_restore ? "restore" : "new key", s->save_key, mc_tme_policy_name(s->policy),
            s->bypass, s->keyid_bits, s->keyid_bits ? s->maxphyaddr - 1 : 0,
            s->keyid_bits ? s->maxphyaddr - s->keyid_bits : 0, actalgs);
    fprintf(out, "MKTME KeyIDs usable: %u (min(2^K-1, MAX_KEYS)); KeyID 0 = TME key\n", s->keyids);
}

void mc_tme_status_json(const struct mc_tme_status *s, struct mc_json *j)
{
    if (!s || !j || !s->tme)
        return;
    mc_json_arr(j, "cpuid_1b");
    for (unsigned i = 0; i < s->n1b; i++) {
        mc_json_obj(j, NULL);
        mc_json_u64(j, "subleaf", i);
        mc_json_hex64(j, "eax", s->cpuid_1b[i].eax);
        mc_json_hex64(j, "ebx", s->cpuid_1b[i].ebx);
        mc_json_hex64(j, "ecx", s->cpuid_1b[i].ecx);
        mc_json_hex64(j, "edx", s->cpuid_1b[i].edx);
        mc_json_end(j);
    }
    mc_json_end(j);
    mc_json_obj(j, "msrs");
    for (int i = 0; i < MC_TME_STATUS_NMSR; i++)
        if (s->ok[i])
            mc_json_hex64(j, s->msr_name[i], s->value[i]);
    mc_json_end(j);
    char algs[96];
    mc_tme_algs_text(s->cap_algs, algs, sizeof algs);
    mc_json_obj(j, "capability");
    mc_json_str(j, "algorithms", algs);
    mc_json_bool(j, "bypass_supported", s->bypass_supported);
    mc_json_u64(j, "max_keyid_bits", s->max_keyid_bits);
    mc_json_u64(j, "max_keys", s->max_keys);
    mc_json_end(j);
    mc_tme_algs_text(s->mktme_algs, algs, sizeof algs);
    mc_json_obj(j, "activate");
    mc_json_bool(j, "locked", s->locked);
    mc_json_bool(j, "enabled", s->enabled);
    mc_json_str(j, "key_select", s->key_restore ? "restore saved key" : "new random key");
    mc_json_bool(j, "save_key", s->save_key);
    mc_json_str(j, "policy", mc_tme_policy_name(s->policy));
    mc_json_bool(j, "bypass", s->bypass);
    mc_json_u64(j, "keyid_bits", s->keyid_bits);
    mc_json_str(j, "mktme_algorithms", algs);
    mc_json_u64(j, "keyids", s->keyids);
    mc_json_end(j);
}
