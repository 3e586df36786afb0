/* The KDS client's URL paths and checks (memcrypt/kds_client.h) against answers nobody here
 * wrote — AMD's real Milan and Turin chains and real reports' VCEKs (tests/data/amd) — and against
 * the local KDS's router (memcrypt/kds_site.h) for an emulated chip; every hostile answer (another
 * product, chip or TCB, a swapped or forged chain, garbage, a CRL of another ARK, out of its
 * validity) is refused and leaves what was checked before untouched. */
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memcrypt/fileio.h>
#include <memcrypt/kds_client.h>
#include <memcrypt/kds_site.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/snp_verify.h>

#include "check.h"
#include "crypto/crypto.h"

#define D MC_TEST_DATA "/amd/"

static uint8_t *slurp(const char *path, size_t *len)
{
    uint8_t *b = NULL;
    struct mc_error e;
    CHECK_MSG(mc_file_read(path, 1u << 20, &b, len, &e) == MC_OK, "%s: %s", path, e.msg);
    return b;
}

/* buf = file a then file b */
static uint8_t *cat2(const char *a, const char *b, size_t *len)
{
    size_t na = 0, nb = 0;
    uint8_t *pa = slurp(a, &na), *pb = slurp(b, &nb);
    uint8_t *o = malloc(na + nb + 1);
    if (o && pa && pb) {
        memcpy(o, pa, na);
        memcpy(o + na, pb, nb);
    }
    free(pa);
    free(pb);
    *len = na + nb;
    return o;
}

static bool report(const char *path, struct mc_snp_report *r)
{
    size_t n = 0;
    uint8_t *b = slurp(path, &n);
    bool ok = b && mc_snp_report_decode(b, n, r, NULL) == MC_OK;
    free(b);
    return ok;
}

static void test_paths(void)
{
    char p[400];
    struct mc_kds_query q = {.item = MC_KDS_CA, .gen = MC_SNP_GEN_MILAN};
    CHECK(mc_kds_query_path(&q, p, sizeof p, NULL) == MC_OK && !strcmp(p, "/vcek/v1/Milan/cert_chain"));
    q.vlek = true;
    q.gen = MC_SNP_GEN_GENOA;
    CHECK(mc_kds_query_path(&q, p, sizeof p, NULL) == MC_OK && !strcmp(p, "/vlek/v1/Genoa/cert_chain"));
    q.item = MC_KDS_CRL;
    q.gen = MC_SNP_GEN_TURIN;
    CHECK(mc_kds_query_path(&q, p, sizeof p, NULL) == MC_OK && !strcmp(p, "/vlek/v1/Turin/crl"));
    q.item = MC_KDS_VCEK; /* VLEKs are not served by URL */
    CHECK(mc_kds_query_path(&q, p, sizeof p, NULL) == MC_E_INVAL);
    q.vlek = false;
    q.gen = MC_SNP_GEN_UNKNOWN;
    CHECK(mc_kds_query_path(&q, p, sizeof p, NULL) == MC_E_INVAL);
    q.item = (enum mc_kds_item)7;
    q.gen = MC_SNP_GEN_MILAN;
    CHECK(mc_kds_query_path(&q, p, sizeof p, NULL) == MC_E_INVAL);

    /* A real Milan report (version 2: no CPUID, the product must be given) — the path is the
     * one `report verify` names and AMD's KDS served its VCEK from. */
    struct mc_snp_report r;
    CHECK(report(D "snp-reports/gosev-milan/report.bin", &r));
    CHECK(mc_kds_query_report(&r, MC_SNP_GEN_UNKNOWN, &q, NULL) == MC_E_INVAL);
    CHECK(mc_kds_query_report(&r, MC_SNP_GEN_MILAN, &q, NULL) == MC_OK);
    CHECK(mc_kds_query_path(&q, p, sizeof p, NULL) == MC_OK);
    CHECK_MSG(!strcmp(p, "/vcek/v1/Milan/3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68"),
              "%s", p);
    CHECK(mc_kds_query_path(&q, p, 100, NULL) == MC_E_RANGE);
    /* A real Turin report: product from CPUID, the 8-byte hwID, fmcSPL first. */
    CHECK(report(D "snp-reports/oak-turin-oc/report.bin", &r));
    CHECK(mc_kds_query_report(&r, MC_SNP_GEN_UNKNOWN, &q, NULL) == MC_OK && q.gen == MC_SNP_GEN_TURIN);
    CHECK(mc_kds_query_path(&q, p, sizeof p, NULL) == MC_OK);
    CHECK_MSG(!strncmp(p, "/vcek/v1/Turin/", 15) && strlen(p + 15) > 16 && !strncmp(p + 31, "?fmcSPL=", 8), "%s", p);
    char url[500];
    CHECK(mc_snp_kds_url(&r, MC_SNP_GEN_UNKNOWN, url, sizeof url) == MC_OK);
    CHECK_MSG(!strncmp(url, "https://kdsintf.amd.com", 23) && !strcmp(url + 23, p), "%s", url);
    /* MASK_CHIP_ID */
    memset(r.chip_id, 0, sizeof r.chip_id);
    CHECK(mc_kds_query_report(&r, MC_SNP_GEN_UNKNOWN, &q, NULL) == MC_E_NOTFOUND);
}

/* AMD's real chains and VCEKs. */
static void test_amd(void)
{
    struct mc_kds_certs c = {0};
    struct mc_error e = {0};
    size_t n;
    uint8_t *chain = cat2(D "snp-ca/ask-milan.pem", D "snp-ca/ark-milan.pem", &n);
    struct mc_kds_query q = {.item = MC_KDS_CA, .gen = MC_SNP_GEN_MILAN};
    CHECK_MSG(mc_kds_check_chain(&q, chain, n, 0, &c, &e) == MC_OK, "%s", e.msg);
    CHECK(c.amd_root && !strcmp(c.ark_desc, "AMD's Milan ARK") && c.ask && c.ark);
    /* the same chain for Genoa, or as the VLEK side: refused, c untouched */
    uint8_t *ark0 = c.ark;
    q.gen = MC_SNP_GEN_GENOA;
    CHECK(mc_kds_check_chain(&q, chain, n, 0, &c, &e) == MC_E_FORMAT && strstr(e.msg, "not Genoa's ARK"));
    q.gen = MC_SNP_GEN_MILAN;
    q.vlek = true;
    CHECK(mc_kds_check_chain(&q, chain, n, 0, &c, &e) == MC_E_FORMAT && strstr(e.msg, "ASVK"));
    CHECK(c.ark == ark0);
    q.vlek = false;
    /* outside the validity (AMD's Milan ARK: 2020 .. 2045) */
    CHECK(mc_kds_check_chain(&q, chain, n, (time_t)2524608000, &c, &e) == MC_E_VERIFY && strstr(e.msg, "not valid"));
    CHECK(mc_kds_check_chain(&q, chain, n, (time_t)1500000000, &c, &e) == MC_E_VERIFY);
    free(chain);
    /* ARK then ASK (swapped), one certificate, three */
    chain = cat2(D "snp-ca/ark-milan.pem", D "snp-ca/ask-milan.pem", &n);
    CHECK(mc_kds_check_chain(&q, chain, n, 0, &c, &e) == MC_E_FORMAT);
    free(chain);
    chain = slurp(D "snp-ca/ark-milan.pem", &n);
    CHECK(mc_kds_check_chain(&q, chain, n, 0, &c, &e) == MC_E_FORMAT && strstr(e.msg, "not two"));
    free(chain);
    /* Milan's ASK under Genoa's ARK: names right for neither */
    chain = cat2(D "snp-ca/ask-genoa.pem", D "snp-ca/ark-milan.pem", &n);
    CHECK(mc_kds_check_chain(&q, chain, n, 0, &c, &e) == MC_E_FORMAT);
    free(chain);

    /* The real report's VCEK */
    struct mc_snp_report r;
    CHECK(report(D "snp-reports/gosev-milan/report.bin", &r));
    struct mc_kds_query v;
    CHECK(mc_kds_query_report(&r, MC_SNP_GEN_MILAN, &v, NULL) == MC_OK);
    uint8_t *vc = slurp(D "snp-reports/gosev-milan/vcek.der", &n);
    CHECK_MSG(mc_kds_check_vcek(&v, vc, n, 0, &c, &e) == MC_OK, "%s", e.msg);
    CHECK(c.vcek_len == n && !memcmp(c.vcek, vc, n));
    uint8_t *vc0 = c.vcek;
    struct mc_kds_query w = v;
    w.tcb ^= 1; /* another blSPL */
    CHECK(mc_kds_check_vcek(&w, vc, n, 0, &c, &e) == MC_E_VERIFY && strstr(e.msg, "blSPL"));
    w = v;
    w.tcb ^= (uint64_t)1 << 56; /* another ucodeSPL */
    CHECK(mc_kds_check_vcek(&w, vc, n, 0, &c, &e) == MC_E_VERIFY && strstr(e.msg, "ucodeSPL"));
    w = v;
    w.hwid[63] ^= 1;
    CHECK(mc_kds_check_vcek(&w, vc, n, 0, &c, &e) == MC_E_VERIFY && strstr(e.msg, "hwID"));
    w = v;
    w.gen = MC_SNP_GEN_GENOA;
    CHECK(mc_kds_check_vcek(&w, vc, n, 0, &c, &e) == MC_E_VERIFY && strstr(e.msg, "product"));
    CHECK(mc_kds_check_vcek(&v, vc, n - 1, 0, &c, &e) == MC_E_FORMAT);
    CHECK(mc_kds_check_vcek(&v, vc, n, (time_t)1600000000, &c, &e) == MC_E_VERIFY); /* before it was issued */
    CHECK(c.vcek == vc0);
    free(vc);
    /* another chip's real VCEK: hwID */
    vc = slurp(D "snp-reports/virtee-milan/vcek.der", &n);
    CHECK(mc_kds_check_vcek(&v, vc, n, 0, &c, &e) == MC_E_VERIFY);
    free(vc);
    /* the ASK is no VCEK */
    vc = slurp(D "snp-ca/ask-milan.pem", &n);
    CHECK(mc_kds_check_vcek(&v, vc, n, 0, &c, &e) != MC_OK);
    free(vc);
    /* a Genoa VCEK with Milan's chain: product (and signature) */
    vc = slurp(D "snp-reports/oak-genoa-oc/vcek.der", &n);
    CHECK(mc_kds_check_vcek(&v, vc, n, 0, &c, &e) == MC_E_VERIFY);
    free(vc);
    /* no CRL of AMD's here: an emulated one is not signed by AMD's ARK (below) */
    mc_kds_certs_free(&c);

    /* Turin: the real chain and VCEK */
    chain = cat2(D "snp-ca/ask-turin.pem", D "snp-ca/ark-turin.pem", &n);
    q.gen = MC_SNP_GEN_TURIN;
    CHECK_MSG(mc_kds_check_chain(&q, chain, n, 0, &c, &e) == MC_OK, "%s", e.msg);
    free(chain);
    CHECK(report(D "snp-reports/oak-turin-oc/report.bin", &r));
    CHECK(mc_kds_query_report(&r, MC_SNP_GEN_UNKNOWN, &v, NULL) == MC_OK);
    vc = slurp(D "snp-reports/oak-turin-oc/vcek.der", &n);
    CHECK_MSG(mc_kds_check_vcek(&v, vc, n, 0, &c, &e) == MC_OK, "%s", e.msg);
    w = v;
    w.tcb ^= 1; /* fmcSPL */
    CHECK(mc_kds_check_vcek(&w, vc, n, 0, &c, &e) == MC_E_VERIFY && strstr(e.msg, "fmcSPL"));
    w = v;
    w.hwid[40] ^= 1; /* beyond Turin's 8-byte hwID: the same chip */
    CHECK(mc_kds_check_vcek(&w, vc, n, 0, &c, &e) == MC_OK);
    free(vc);
    mc_kds_certs_free(&c);
    CHECK(c.ark == NULL && c.vcek == NULL);
    mc_kds_certs_free(NULL);
}

/* The local KDS's answers for an emulated chip. */
static void test_emulated(void)
{
    uint8_t secret[MC_SNP_SECRET_LEN];
    memset(secret, 0x3A, sizeof secret);
    struct mc_snp_identity_params ip = {.gen = MC_SNP_GEN_GENOA, .chip_secret = secret, .root_bits = 2048};
    struct mc_snp_identity *id = NULL;
    struct mc_error e = {0};
    CHECK(mc_snp_identity_create(&ip, &id, &e) == MC_OK);
    if (!id)
        return;
    struct mc_kds_site site = {.snp = id};
    struct mc_kds_reply chain = {0}, vchain = {0}, crl = {0}, vcek = {0};
    CHECK(mc_kds_answer(&site, "GET", "/vcek/v1/Genoa/cert_chain", NULL, 0, &chain, &e) == MC_OK && chain.status == 200);
    CHECK(mc_kds_answer(&site, "GET", "/vlek/v1/Genoa/cert_chain", NULL, 0, &vchain, &e) == MC_OK && vchain.status == 200);
    CHECK(mc_kds_answer(&site, "GET", "/vcek/v1/Genoa/crl", NULL, 0, &crl, &e) == MC_OK && crl.status == 200);
    struct mc_kds_query q = {.item = MC_KDS_VCEK, .gen = MC_SNP_GEN_GENOA, .tcb = mc_snp_tcb_factory(MC_SNP_GEN_GENOA)};
    mc_snp_identity_chip_id(id, q.hwid);
    char path[400];
    CHECK(mc_kds_query_path(&q, path, sizeof path, NULL) == MC_OK);
    /* the router takes the query as arguments */
    struct mc_kds_arg a[5];
    char vals[5][8], *qs = strchr(path, '?');
    size_t na = 0;
    *qs++ = 0;
    for (char *t = strtok(qs, "&"); t && na < 5; t = strtok(NULL, "&")) {
        char *eq = strchr(t, '=');
        *eq = 0;
        snprintf(vals[na], sizeof vals[na], "%s", eq + 1);
        a[na].name = t;
        a[na].value = vals[na];
        na++;
    }
    CHECK(mc_kds_answer(&site, "GET", path, a, na, &vcek, &e) == MC_OK && vcek.status == 200);

    struct mc_kds_certs c = {0};
    struct mc_kds_query cq = {.item = MC_KDS_CA, .gen = MC_SNP_GEN_GENOA};
    CHECK_MSG(mc_kds_check_chain(&cq, chain.body, chain.len, 0, &c, &e) == MC_OK, "%s", e.msg);
    CHECK(!c.amd_root && strstr(c.ark_desc, "EMULATED"));
    CHECK_MSG(mc_kds_check_vcek(&q, vcek.body, vcek.len, 0, &c, &e) == MC_OK, "%s", e.msg);
    CHECK_MSG(mc_kds_check_crl(crl.body, crl.len, &c, &e) == MC_OK, "%s", e.msg);
    CHECK(c.crl && c.crl_revoked == 0 && c.crl_next > 0);
    /* PEM of both kinds; the CRL's PEM is read back to the same CRL */
    uint8_t *pem = NULL;
    size_t pl = 0;
    CHECK(mc_kds_pem(c.crl, c.crl_len, true, &pem, &pl, &e) == MC_OK && pl > 20 && !memcmp(pem, "-----BEGIN X509 CRL-----", 24));
    uint8_t *crl0 = c.crl;
    size_t crl0_len = c.crl_len;
    uint8_t *keep = malloc(crl0_len);
    memcpy(keep, crl0, crl0_len);
    CHECK(mc_kds_check_crl(pem, pl, &c, &e) == MC_OK && c.crl_len == crl0_len && !memcmp(c.crl, keep, crl0_len));
    free(keep);
    free(pem);
    CHECK(mc_kds_pem(c.ark, c.ark_len, false, &pem, &pl, &e) == MC_OK && !memcmp(pem, "-----BEGIN CERTIFICATE-----", 27));
    free(pem);
    CHECK(mc_kds_pem(c.ark, c.ark_len, true, &pem, &pl, &e) == MC_E_FORMAT); /* a certificate is no CRL */
    /* the VLEK chain is the VLEK side's only */
    struct mc_kds_certs c2 = {0};
    CHECK(mc_kds_check_chain(&cq, vchain.body, vchain.len, 0, &c2, &e) == MC_E_FORMAT);
    cq.vlek = true;
    CHECK_MSG(mc_kds_check_chain(&cq, vchain.body, vchain.len, 0, &c2, &e) == MC_OK, "%s", e.msg);
    /* the emulated chain is valid 2024 .. 2049 */
    CHECK(mc_kds_check_chain(&cq, vchain.body, vchain.len, (time_t)1600000000, &c2, &e) == MC_E_VERIFY);
    mc_kds_certs_free(&c2);

    /* a CRL not signed by this ARK: AMD's Milan chain with the emulated Genoa CRL */
    size_t n;
    uint8_t *amd = cat2(D "snp-ca/ask-genoa.pem", D "snp-ca/ark-genoa.pem", &n);
    cq.vlek = false;
    CHECK(mc_kds_check_chain(&cq, amd, n, 0, &c2, &e) == MC_OK && c2.amd_root);
    CHECK(mc_kds_check_crl(crl.body, crl.len, &c2, &e) == MC_E_VERIFY && strstr(e.msg, "issuer"));
    CHECK(c2.crl == NULL);
    /* the emulated VCEK does not chain to AMD's ASK */
    CHECK(mc_kds_check_vcek(&q, vcek.body, vcek.len, 0, &c2, &e) == MC_E_VERIFY);
    free(amd);
    mc_kds_certs_free(&c2);
    /* garbage and truncations */
    static const uint8_t junk[] = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
    CHECK(mc_kds_check_crl(junk, sizeof junk - 1, &c, &e) == MC_E_FORMAT);
    CHECK(mc_kds_check_crl(crl.body, crl.len - 1, &c, &e) == MC_E_FORMAT);
    CHECK(mc_kds_check_crl(crl.body, 0, &c, &e) == MC_E_FORMAT);
    CHECK(mc_kds_check_chain(&cq, chain.body, chain.len / 2, 0, &c, &e) != MC_OK);
    CHECK(mc_kds_check_chain(&cq, crl.body, crl.len, 0, &c, &e) == MC_E_FORMAT);
    CHECK(c.crl_len == crl0_len); /* failures left c as it was */
    /* nothing without the chain */
    struct mc_kds_certs none = {0};
    CHECK(mc_kds_check_vcek(&q, vcek.body, vcek.len, 0, &none, &e) == MC_E_INVAL);
    CHECK(mc_kds_check_crl(crl.body, crl.len, &none, &e) == MC_E_INVAL);
    mc_kds_certs_free(&c);
    mc_kds_reply_free(&chain);
    mc_kds_reply_free(&vchain);
    mc_kds_reply_free(&crl);
    mc_kds_reply_free(&vcek);
    mc_snp_identity_destroy(id);
}

int main(void)
{
    mc_crypto_init();
    RUN(test_paths);
    RUN(test_amd);
    RUN(test_emulated);
    return check_summary();
}
