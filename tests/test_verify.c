/* Report verification against AMD's real roots with AMD's real reports and certificates:
 * every report verifies, the negative certificates and cross-generation VCEKs are refused,
 * policy checks pass and fail as asked, and the chain cache is used. */
#include <memcrypt/fileio.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/snp_verify.h>

#include <unistd.h>

#include "check.h"

#define AMD MC_TEST_DATA "/amd/"

static const char *const cases[] = {
    "gosev-milan", "virtee-milan", "trustee-milan-vcek", "trustee-milan-vlek", "azure-milan-hcl",
    "azure-genoa-hcl", "trustee-genoa-e2e", "oak-milan-cb", "oak-milan-oc-release", "oak-milan-oc-staging",
    "oak-milan-rk-release", "oak-milan-rk-staging", "oak-genoa-oc", "oak-turin-oc",
};
#define NCASES (sizeof cases / sizeof cases[0])

struct item {
    struct mc_snp_report r;
    uint8_t *cert;
    size_t cert_len;
};

static struct item items[NCASES];
static struct mc_snp_verifier *amd;

static uint8_t *slurp(const char *path, size_t *n)
{
    uint8_t *b = NULL;
    struct mc_error e;
    if (mc_file_read(path, 1 << 20, &b, n, &e) != MC_OK) {
        *n = 0;
        return NULL;
    }
    return b;
}

static void load_all(void)
{
    struct mc_error e;
    CHECK(mc_snp_verifier_create(NULL, &amd, &e) == MC_OK && !mc_snp_verifier_is_test(amd));
    for (size_t i = 0; i < NCASES; i++) {
        char p[512];
        size_t n;
        snprintf(p, sizeof p, AMD "snp-reports/%s/report.bin", cases[i]);
        uint8_t *b = slurp(p, &n);
        CHECK_MSG(b && mc_snp_report_decode(b, n, &items[i].r, &e) == MC_OK, "%s", cases[i]);
        free(b);
        snprintf(p, sizeof p, AMD "snp-reports/%s/%s.der", cases[i], strstr(cases[i], "vlek") ? "vlek" : "vcek");
        items[i].cert = slurp(p, &items[i].cert_len);
        CHECK_MSG(items[i].cert != NULL, "%s", p);
    }
}

/* Inside the VLEK's validity (2024-12-10 .. 2025-12-10); the VCEKs are valid then too. */
static const time_t AT_2025_06 = 1748736000; /* 2025-06-01 */

static enum mc_check_state state_of(const struct mc_snp_result *res, const char *name)
{
    for (size_t i = 0; i < res->n; i++)
        if (!strcmp(res->checks[i].name, name))
            return res->checks[i].state;
    return (enum mc_check_state)-1;
}

static mc_status verify_with(const struct item *it, const uint8_t *cert, size_t n, const struct mc_snp_policy *p,
                             struct mc_snp_result *res)
{
    struct mc_snp_certs c = {cert, n, NULL, 0, NULL, 0};
    struct mc_error e;
    return mc_snp_verify(amd, &it->r, &c, p, res, &e);
}

static void test_real_reports_verify(void)
{
    for (size_t i = 0; i < NCASES; i++) {
        /* the VLEK only inside its validity; the VCEKs now (some were issued after 2025-06) */
        bool vlek = strstr(cases[i], "vlek") != NULL;
        struct mc_snp_policy p = {.has_at = vlek, .at = AT_2025_06};
        struct mc_snp_result res;
        mc_status st = verify_with(&items[i], items[i].cert, items[i].cert_len, &p, &res);
        CHECK_MSG(st == MC_OK && res.ok, "%s", cases[i]);
        CHECK(state_of(&res, "signature") == MC_CHECK_PASS && state_of(&res, "chain") == MC_CHECK_PASS);
        CHECK(state_of(&res, "tcb") == MC_CHECK_PASS);
        CHECK(state_of(&res, "hwid") == (vlek ? MC_CHECK_SKIP : MC_CHECK_PASS));
        /* a second verification uses the cached chain and gives the same answer */
        struct mc_snp_result res2;
        CHECK(verify_with(&items[i], items[i].cert, items[i].cert_len, &p, &res2) == MC_OK && res2.cached);
    }
}

static void test_vlek_expiry(void)
{
    size_t i = 3; /* trustee-milan-vlek, certificate valid 2024-12-10 .. 2025-12-10 */
    struct mc_snp_policy p = {.has_at = true, .at = 1767225600}; /* 2026-01-01 */
    struct mc_snp_result res;
    CHECK(verify_with(&items[i], items[i].cert, items[i].cert_len, &p, &res) == MC_E_VERIFY);
    CHECK(state_of(&res, "validity") == MC_CHECK_FAIL && state_of(&res, "signature") == MC_CHECK_PASS);
    p.at = 1733788800; /* 2024-12-10 00:00 — before notBefore 22:14:21 */
    CHECK(verify_with(&items[i], items[i].cert, items[i].cert_len, &p, &res) == MC_E_VERIFY);
    p.at = 1733875200; /* 2024-12-11 */
    CHECK(verify_with(&items[i], items[i].cert, items[i].cert_len, &p, &res) == MC_OK);
}

static void test_negative_certs(void)
{
    static const char *const neg[] = {AMD "snp-negative/test-vcek-invalid-legacy.der",
                                      AMD "snp-negative/test-vcek-invalid-new.der"};
    for (int k = 0; k < 2; k++) {
        size_t n;
        uint8_t *c = slurp(neg[k], &n);
        CHECK(c != NULL);
        for (size_t i = 0; i < NCASES; i++) {
            struct mc_snp_result res;
            struct mc_snp_policy p = {.has_at = true, .at = AT_2025_06};
            CHECK_MSG(verify_with(&items[i], c, n, &p, &res) == MC_E_VERIFY && !res.ok, "%s with %s", cases[i], neg[k]);
            /* Both decode (raw and OCTET-STRING-wrapped hwID alike); what refuses them is that
             * AMD did not sign them (or, for other products, the generation). */
            bool chain_or_gen_failed = false;
            for (size_t m = 0; m < res.n; m++)
                if (res.checks[m].state == MC_CHECK_FAIL &&
                    (!strcmp(res.checks[m].name, "chain") || !strcmp(res.checks[m].name, "generation")))
                    chain_or_gen_failed = true;
            CHECK_MSG(chain_or_gen_failed, "%s with %s: refused for the wrong reason", cases[i], neg[k]);
        }
        free(c);
    }
}

static void test_cross_generation(void)
{
    /* every report with every other case's certificate: only its own (or a same-chip) VCEK passes */
    for (size_t i = 0; i < NCASES; i++)
        for (size_t j = 0; j < NCASES; j++) {
            if (i == j || (items[i].cert_len == items[j].cert_len && !memcmp(items[i].cert, items[j].cert, items[i].cert_len)))
                continue; /* the oak release/staging pairs come from one chip and share a VCEK */
            struct mc_snp_result res;
            struct mc_snp_policy p = {.has_at = strstr(cases[i], "vlek") != NULL, .at = AT_2025_06};
            mc_status st = verify_with(&items[i], items[j].cert, items[j].cert_len, &p, &res);
            CHECK_MSG(st == MC_E_VERIFY, "%s verified with %s's certificate", cases[i], cases[j]);
        }
    /* explicit: a Genoa v5 report with a Milan VCEK is refused on generation */
    struct mc_snp_result res;
    verify_with(&items[12], items[7].cert, items[7].cert_len, NULL, &res);
    CHECK(state_of(&res, "generation") == MC_CHECK_FAIL);
    /* the real Turin VCEK without a report: chains, but does not match a Milan v2 report */
    size_t n;
    uint8_t *t = slurp(AMD "snp-extra/vcek-turin.der", &n);
    verify_with(&items[0], t, n, NULL, &res);
    CHECK(state_of(&res, "chain") == MC_CHECK_PASS && state_of(&res, "hwid") == MC_CHECK_FAIL && !res.ok);
    free(t);
}

static void test_given_ask_ark(void)
{
    size_t na, nk, ng;
    uint8_t *ark = slurp(AMD "snp-ca/ark-milan.pem", &na), *ask = slurp(AMD "snp-ca/ask-milan.pem", &nk),
            *gask = slurp(AMD "snp-ca/ask-genoa.pem", &ng);
    struct mc_snp_certs c = {items[1].cert, items[1].cert_len, ask, nk, ark, na};
    struct mc_snp_result res;
    struct mc_error e;
    CHECK(mc_snp_verify(amd, &items[1].r, &c, NULL, &res, &e) == MC_OK);
    c.ask = gask;
    c.ask_len = ng;
    CHECK(mc_snp_verify(amd, &items[1].r, &c, NULL, &res, &e) == MC_E_VERIFY && strstr(e.msg, "ASK"));
    c.ask = ask;
    c.ask_len = nk;
    c.ark = ask; /* not the ARK */
    c.ark_len = nk;
    CHECK(mc_snp_verify(amd, &items[1].r, &c, NULL, &res, &e) == MC_E_VERIFY && strstr(e.msg, "ARK"));
    c.ark = (const uint8_t *)"garbage";
    c.ark_len = 7;
    CHECK(mc_snp_verify(amd, &items[1].r, &c, NULL, &res, &e) == MC_E_VERIFY);
    /* a certificate table holding the VCEK, ASK and ARK */
    uint8_t *t;
    size_t tn;
    struct mc_snp_certs src = {items[1].cert, items[1].cert_len, ask, nk, ark, na};
    CHECK(mc_snp_certtable_build(&src, false, &t, &tn, &e) == MC_OK);
    struct mc_snp_certtable tab;
    CHECK(mc_snp_certtable_parse(t, tn, &tab, &e) == MC_OK && tab.n == 3);
    mc_snp_certtable_certs(&tab, t, false, &c);
    CHECK(mc_snp_verify(amd, &items[1].r, &c, NULL, &res, &e) == MC_OK);
    free(t);
    free(ark);
    free(ask);
    free(gask);
}

/* PEM bundles as --ask/--ark (AMD's cert_chain is ASK then ARK): accepted when they hold the
 * trusted certificate; a bundle of another product is named ("AMD's Genoa ASK ... a Milan chip"). */
static void test_bundles_and_describe(void)
{
    size_t na, nk, ng, ngk;
    uint8_t *ark = slurp(AMD "snp-ca/ark-milan.pem", &na), *ask = slurp(AMD "snp-ca/ask-milan.pem", &nk);
    uint8_t *gark = slurp(AMD "snp-ca/ark-genoa.pem", &ng), *gask = slurp(AMD "snp-ca/ask-genoa.pem", &ngk);
    uint8_t bundle[16384], gbundle[16384];
    CHECK(ark && ask && gark && gask && nk + na < sizeof bundle && ngk + ng < sizeof gbundle);
    memcpy(bundle, ask, nk);
    memcpy(bundle + nk, ark, na);
    memcpy(gbundle, gask, ngk);
    memcpy(gbundle + ngk, gark, ng);
    struct mc_snp_certs c = {items[1].cert, items[1].cert_len, bundle, nk + na, bundle, nk + na};
    struct mc_snp_result res;
    struct mc_error e;
    CHECK_MSG(mc_snp_verify(amd, &items[1].r, &c, NULL, &res, &e) == MC_OK, "%s", e.msg);
    c.ask = gbundle;
    c.ask_len = ngk + ng;
    CHECK(mc_snp_verify(amd, &items[1].r, &c, NULL, &res, &e) == MC_E_VERIFY);
    CHECK_MSG(strstr(e.msg, "AMD's Genoa ASK and AMD's Genoa ARK") && strstr(e.msg, "Milan chip") &&
                  strstr(e.msg, "needs AMD's Milan ASK"),
              "%s", e.msg);
    /* describe: roles, built-in names, who signed whom */
    struct mc_snp_certinfo ci[MC_SNP_CERTINFO_MAX];
    size_t n = 0;
    CHECK(mc_snp_certs_describe(bundle, nk + na, ci, MC_SNP_CERTINFO_MAX, &n, &e) == MC_OK && n == 2);
    CHECK(!strcmp(ci[0].role, "ASK") && !strcmp(ci[0].amd_builtin, "AMD's Milan ASK") && strstr(ci[0].signed_by, "ARK-Milan"));
    CHECK(!strcmp(ci[1].role, "ARK") && !strcmp(ci[1].amd_builtin, "AMD's Milan ARK") && !ci[1].has_amd_ext);
    CHECK(mc_snp_certs_describe(items[1].cert, items[1].cert_len, ci, MC_SNP_CERTINFO_MAX, &n, &e) == MC_OK && n == 1);
    CHECK(ci[0].has_amd_ext && !strcmp(ci[0].role, "VCEK") && ci[0].hwid_len == 64 && !ci[0].hwid_wrapped);
    CHECK(strstr(ci[0].signed_by, "AMD's") && strstr(ci[0].signed_by, "ASK (built in)"));
    CHECK(mc_snp_certs_describe((const uint8_t *)"garbage", 7, ci, MC_SNP_CERTINFO_MAX, &n, &e) == MC_E_FORMAT);
    free(ark);
    free(ask);
    free(gark);
    free(gask);
}

/* --roots FILE: a cert_chain.pem as AMD's KDS serves it (ASK or ASVK, then ARK), made here from
 * AMD's real certificates; every malformed file is refused with a sentence naming it. */
static const char *chain_file(const char *dir, const char *name, const char *const *parts, size_t n)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    for (size_t i = 0; f && i < n; i++) {
        char p[512];
        size_t len;
        snprintf(p, sizeof p, AMD "snp-ca/%s.pem", parts[i]);
        uint8_t *b = slurp(p, &len);
        CHECK_MSG(b && fwrite(b, 1, len, f) == len, "%s", p);
        free(b);
    }
    if (f)
        fclose(f);
    return path;
}

static mc_status roots_verify(const char *file, const struct item *it, time_t at, struct mc_snp_result *res,
                              struct mc_error *e)
{
    struct mc_snp_verifier *v = NULL;
    mc_status st = mc_snp_verifier_create(file, &v, e);
    if (st)
        return st;
    CHECK(mc_snp_verifier_is_test(v));
    struct mc_snp_certs c = {it->cert, it->cert_len, NULL, 0, NULL, 0};
    struct mc_snp_policy p = {.has_at = true, .at = at};
    st = mc_snp_verify(v, &it->r, &c, &p, res, e);
    mc_snp_verifier_destroy(v);
    return st;
}

static void test_roots_file(void)
{
    char dir[] = "/tmp/mc_roots_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    struct mc_snp_result res;
    struct mc_error e;
    const char *f;
    /* the KDS's cert_chain of the VCEK side verifies a Milan VCEK report, naming AMD's roots */
    f = chain_file(dir, "milan.pem", (const char *const[]){"ask-milan", "ark-milan"}, 2);
    CHECK_MSG(roots_verify(f, &items[1], AT_2025_06, &res, &e) == MC_OK && res.ok, "%s", e.msg);
    CHECK(state_of(&res, "chain") == MC_CHECK_PASS);
    /* the VLEK side's (ASVK, ARK) a VLEK report; not a VCEK report (no ASK in it) */
    f = chain_file(dir, "vlek.pem", (const char *const[]){"asvk-milan", "ark-milan"}, 2);
    CHECK_MSG(roots_verify(f, &items[3], AT_2025_06, &res, &e) == MC_OK && res.ok, "%s", e.msg);
    CHECK(roots_verify(f, &items[1], AT_2025_06, &res, &e) == MC_E_VERIFY && state_of(&res, "chain") == MC_CHECK_FAIL);
    /* Genoa's chain does not verify a Milan report; Turin's verifies Turin's */
    f = chain_file(dir, "genoa.pem", (const char *const[]){"ask-genoa", "ark-genoa"}, 2);
    CHECK(roots_verify(f, &items[1], AT_2025_06, &res, &e) == MC_E_VERIFY && state_of(&res, "chain") == MC_CHECK_FAIL);
    f = chain_file(dir, "turin.pem", (const char *const[]){"ask-turin", "ark-turin"}, 2);
    CHECK_MSG(roots_verify(f, &items[13], 1767225600 /* 2026-01-01 */, &res, &e) == MC_OK && res.ok, "%s", e.msg);
    /* refused, each with the file's name and what is wrong */
    static const struct {
        const char *name;
        const char *parts[3];
        size_t n;
        const char *why;
    } bad[] = {
        {"order.pem", {"ark-milan", "ask-milan"}, 2, "lists the ARK (\"ARK-Milan\") first"},
        {"one.pem", {"ask-milan"}, 1, "holds 1 certificate (\"SEV-Milan\")"},
        {"ark.pem", {"ark-milan"}, 1, "holds 1 certificate (\"ARK-Milan\")"},
        {"three.pem", {"ask-milan", "ark-milan", "asvk-milan"}, 3, "holds 3 certificates (the first \"SEV-Milan\")"},
        {"two-asks.pem", {"ask-milan", "ask-genoa"}, 2, "the second certificate is \"SEV-Genoa\", not an AMD ARK"},
        {"mixed.pem", {"ask-genoa", "ark-milan"}, 2, "the first certificate is \"SEV-Genoa\", not Milan's ASK"},
        {"empty.pem", {"ark-milan"}, 0, "not a PEM certificate chain"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f = chain_file(dir, bad[i].name, bad[i].parts, bad[i].n);
        struct mc_snp_verifier *v = NULL;
        CHECK(mc_snp_verifier_create(f, &v, &e) == MC_E_FORMAT && v == NULL);
        CHECK_MSG(strstr(e.msg, f) && strstr(e.msg, bad[i].why), "%s: %s", bad[i].name, e.msg);
        remove(f);
    }
    /* junk, and a PEM block that is not a certificate */
    static const char *const junk[] = {"not a certificate\n", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"};
    for (size_t i = 0; i < 2; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/junk%zu.pem", dir, i);
        CHECK(mc_file_write_atomic(p, (const uint8_t *)junk[i], strlen(junk[i]), &e) == MC_OK);
        struct mc_snp_verifier *v = NULL;
        CHECK(mc_snp_verifier_create(p, &v, &e) == MC_E_FORMAT && v == NULL);
        CHECK_MSG(strstr(e.msg, p) && strstr(e.msg, "not a PEM certificate chain"), "%s", e.msg);
        remove(p);
    }
    static const char *const made[] = {"milan.pem", "vlek.pem", "genoa.pem", "turin.pem"};
    for (size_t i = 0; i < 4; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, made[i]);
        remove(p);
    }
    CHECK(rmdir(dir) == 0);
}

static void test_policy_checks(void)
{
    const struct item *it = &items[1]; /* virtee-milan: policy 0x30000, vmpl 0 */
    struct mc_snp_policy p;
    struct mc_snp_result res;
    memset(&p, 0, sizeof p);
    memcpy(p.measurement, it->r.measurement, 48);
    memcpy(p.report_data, it->r.report_data, 64);
    memcpy(p.host_data, it->r.host_data, 32);
    memcpy(p.id_key_digest, it->r.id_key_digest, 48);
    p.has_measurement = p.has_report_data = p.has_host_data = p.has_id_key_digest = true;
    p.has_min_tcb = true;
    p.min_tcb = it->r.reported_tcb;
    p.no_debug = true;
    p.has_vmpl = true;
    p.vmpl = 0;
    p.has_policy_mask = true;
    p.policy_mask = 0xffffffffffffffffull;
    p.policy_value = 0x30000;
    CHECK(verify_with(it, it->cert, it->cert_len, &p, &res) == MC_OK);
    static const char *const names[] = {"measurement", "report_data", "host_data", "id_key_digest", "min_tcb",
                                        "no_debug", "vmpl", "policy_mask"};
    for (int k = 0; k < 8; k++)
        CHECK_MSG(state_of(&res, names[k]) == MC_CHECK_PASS, "%s", names[k]);
    /* each check alone fails when it should, and names itself */
    for (int k = 0; k < 8; k++) {
        struct mc_snp_policy q = p;
        switch (k) {
        case 0: q.measurement[47] ^= 1; break;
        case 1: q.report_data[0] ^= 0x80; break;
        case 2: q.host_data[5] ^= 1; break;
        case 3: q.id_key_digest[0] ^= 1; break;
        case 4: q.min_tcb += 1ull << 48; break; /* snp SVN one higher (Milan layout, byte 6) */
        case 5: continue;                        /* debug is clear in this report; see below */
        case 6: q.vmpl = 1; break;
        case 7: q.policy_value = 0x30000 | MC_SNP_POLICY_DEBUG; break;
        }
        struct mc_error e;
        struct mc_snp_certs c = {it->cert, it->cert_len, NULL, 0, NULL, 0};
        CHECK_MSG(mc_snp_verify(amd, &it->r, &c, &q, &res, &e) == MC_E_VERIFY && state_of(&res, names[k]) == MC_CHECK_FAIL &&
                      !strncmp(e.msg, names[k], strlen(names[k])),
                  "%s: %s", names[k], e.msg);
    }
    /* gosev-milan has policy 0xb0000: DEBUG set */
    struct mc_snp_policy d = {.no_debug = true};
    CHECK(verify_with(&items[0], items[0].cert, items[0].cert_len, &d, &res) == MC_E_VERIFY &&
          state_of(&res, "no_debug") == MC_CHECK_FAIL);
    /* vlek report: vmpl 1 */
    struct mc_snp_policy v = {.has_at = true, .at = AT_2025_06, .has_vmpl = true, .vmpl = 1};
    CHECK(verify_with(&items[3], items[3].cert, items[3].cert_len, &v, &res) == MC_OK);
}

static void test_unsigned_and_tampered(void)
{
    struct item it = items[1];
    struct mc_snp_result res;
    /* SIGNING_KEY = none */
    it.r.key_info = 7u << 2;
    CHECK(verify_with(&it, it.cert, it.cert_len, NULL, &res) == MC_E_VERIFY && state_of(&res, "report") == MC_CHECK_FAIL);
    /* the VCEK presented for a report that says VLEK: the chain through the ASVK fails */
    it = items[1];
    it.r.key_info = 1u << 2;
    CHECK(verify_with(&it, it.cert, it.cert_len, NULL, &res) == MC_E_VERIFY);
    /* no certificate */
    CHECK(verify_with(&items[1], NULL, 0, NULL, &res) == MC_E_VERIFY);
    /* a non-certificate as the VCEK */
    CHECK(verify_with(&items[1], (const uint8_t *)&items[1].r.raw, MC_SNP_REPORT_SIZE, NULL, &res) == MC_E_VERIFY &&
          state_of(&res, "vcek") == MC_CHECK_FAIL);
}

int main(void)
{
    RUN(load_all);
    RUN(test_real_reports_verify);
    RUN(test_vlek_expiry);
    RUN(test_negative_certs);
    RUN(test_bundles_and_describe);
    RUN(test_roots_file);
    RUN(test_cross_generation);
    RUN(test_given_ask_ark);
    RUN(test_policy_checks);
    RUN(test_unsigned_and_tampered);
    for (size_t i = 0; i < NCASES; i++)
        free(items[i].cert);
    mc_snp_verifier_destroy(amd);
    return check_summary();
}
