/* The client side of AMD's Key Distribution Service (memcrypt/kds_client.h): URL paths, and the
 * checks on what a server answered. This module's job is X.509, so it uses OpenSSL's X.509 API
 * directly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memcrypt/bytes.h>
#include <memcrypt/kds_client.h>

#include "crypto/x509.h"
#include "snp/amd_roots.h"
#include "snp/kds_chain.h"
#include "snp/vcek.h"

#define CRL_MAX (1u << 20)

static bool gen_ok(enum mc_snp_gen g)
{
    return g == MC_SNP_GEN_MILAN || g == MC_SNP_GEN_GENOA || g == MC_SNP_GEN_TURIN;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

mc_status mc_kds_query_report(const struct mc_snp_report *r, enum mc_snp_gen gen, struct mc_kds_query *q,
                              struct mc_error *err)
{
    if (!r || !q)
        return mc_seterr(err, MC_E_INVAL, "kds query: NULL argument");
    if (gen == MC_SNP_GEN_UNKNOWN)
        gen = mc_snp_report_gen(r);
    if (gen == MC_SNP_GEN_UNKNOWN)
        return mc_seterr(err, MC_E_INVAL, "the report (version %u) names no CPU generation: give the product", r->version);
    if (!gen_ok(gen))
        return mc_seterr(err, MC_E_INVAL, "kds query: unknown product");
    if (all_zero(r->chip_id, sizeof r->chip_id))
        return mc_seterr(err, MC_E_NOTFOUND, "the report's CHIP_ID is masked (MASK_CHIP_ID), so its VCEK cannot be "
                                             "looked up");
    memset(q, 0, sizeof *q);
    q->item = MC_KDS_VCEK;
    q->gen = gen;
    memcpy(q->hwid, r->chip_id, sizeof q->hwid);
    q->tcb = r->reported_tcb;
    return MC_OK;
}

mc_status mc_kds_query_path(const struct mc_kds_query *q, char *buf, size_t n, struct mc_error *err)
{
    if (!q || !buf || !n)
        return mc_seterr(err, MC_E_INVAL, "kds query: NULL argument");
    if (!gen_ok(q->gen))
        return mc_seterr(err, MC_E_INVAL, "kds query: unknown product");
    const char *prod = mc_snp_gen_name(q->gen);
    int k;
    if (q->item == MC_KDS_CA || q->item == MC_KDS_CRL) {
        k = snprintf(buf, n, "/%s/v1/%s/%s", q->vlek ? "vlek" : "vcek", prod, q->item == MC_KDS_CA ? "cert_chain" : "crl");
    } else if (q->item == MC_KDS_VCEK) {
        if (q->vlek)
            return mc_seterr(err, MC_E_INVAL, "VLEK certificates are not served by URL (AMD hands them to the cloud "
                                              "provider)");
        /* Turin's hwID is the first 8 bytes of CHIP_ID, its TCB adds fmcSPL (named first). */
        size_t hl = q->gen == MC_SNP_GEN_TURIN ? 8 : 64;
        char hw[129];
        mc_hex_encode(q->hwid, hl, hw);
        struct mc_snp_tcb t;
        mc_snp_tcb_decode(q->tcb, q->gen, &t);
        if (q->gen == MC_SNP_GEN_TURIN)
            k = snprintf(buf, n, "/vcek/v1/%s/%s?fmcSPL=%u&blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", prod, hw, t.fmc,
                         t.bootloader, t.tee, t.snp, t.microcode);
        else
            k = snprintf(buf, n, "/vcek/v1/%s/%s?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", prod, hw, t.bootloader, t.tee,
                         t.snp, t.microcode);
    } else {
        return mc_seterr(err, MC_E_INVAL, "kds query: unknown item");
    }
    if (k < 0 || (size_t)k >= n)
        return mc_seterr(err, MC_E_RANGE, "kds query: the URL does not fit in %zu bytes", n);
    return MC_OK;
}

/* ---- checks ---------------------------------------------------------------------------- */

static void when(time_t t, char *buf, size_t n)
{
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
    else
        snprintf(buf, n, "?");
}

static mc_status valid_at(X509 *x, const char *what, time_t at, struct mc_error *err)
{
    time_t nb, na;
    if (mc_x509_validity(x, &nb, &na, err))
        return mc_seterr(err, MC_E_FORMAT, "the %s has an unreadable validity", what);
    if (at < nb || at > na) {
        char t0[40], t1[40], t2[40];
        when(at, t0, sizeof t0);
        when(nb, t1, sizeof t1);
        when(na, t2, sizeof t2);
        return mc_seterr(err, MC_E_VERIFY, "the %s is not valid at %s (valid %s .. %s)", what, t0, t1, t2);
    }
    return MC_OK;
}

/* x signed by issuer's key and naming issuer's subject as its issuer. */
static mc_status signed_by(X509 *x, const char *what, X509 *issuer, const char *iwhat, struct mc_error *err)
{
    if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(issuer)))
        return mc_seterr(err, MC_E_VERIFY, "the %s's issuer is not the %s", what, iwhat);
    EVP_PKEY *k = X509_get0_pubkey(issuer);
    ERR_clear_error();
    int ok = k && X509_verify(x, k) == 1;
    ERR_clear_error();
    if (!ok)
        return mc_seterr(err, MC_E_VERIFY, "the %s's signature does not verify with the %s's key", what, iwhat);
    return MC_OK;
}

static void subject_field(X509 *x, int nid, char *buf, size_t n)
{
    buf[0] = 0;
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), nid, buf, (int)n);
}

mc_status mc_kds_check_chain(const struct mc_kds_query *q, const uint8_t *body, size_t len, time_t at,
                             struct mc_kds_certs *c, struct mc_error *err)
{
    return mc_kds_check_chain_when(q, body, len, at ? at : time(NULL), true, c, err);
}

mc_status mc_kds_check_chain_when(const struct mc_kds_query *q, const uint8_t *body, size_t len, time_t at,
                                  bool check_time, struct mc_kds_certs *c, struct mc_error *err)
{
    if (!q || !body || !c)
        return mc_seterr(err, MC_E_INVAL, "kds chain: NULL argument");
    if (!gen_ok(q->gen))
        return mc_seterr(err, MC_E_INVAL, "kds chain: unknown product");
    const char *prod = mc_snp_gen_name(q->gen);
    const char *askname = q->vlek ? "ASVK" : "ASK";
    STACK_OF(X509) *sk = NULL;
    struct mc_error e;
    if (mc_x509_load_bundle(body, len, "cert_chain", &sk, &e))
        return mc_seterr(err, MC_E_FORMAT, "the cert_chain answer is not a PEM certificate chain: %s", e.msg);
    mc_status st = MC_OK;
    uint8_t *askd = NULL, *arkd = NULL;
    size_t askl = 0, arkl = 0;
    char cn[96], want[64], o[128], desc[160] = "";
    bool amd = false;
    if (sk_X509_num(sk) != 2) {
        st = mc_seterr(err, MC_E_FORMAT, "the cert_chain answer holds %d certificates, not two (%s, ARK)", sk_X509_num(sk),
                       askname);
        goto out;
    }
    X509 *ask = sk_X509_value(sk, 0), *ark = sk_X509_value(sk, 1);
    snprintf(want, sizeof want, "ARK-%s", prod);
    mc_x509_subject_cn(ark, cn, sizeof cn);
    if (strcmp(cn, want)) {
        st = mc_seterr(err, MC_E_FORMAT, "the second certificate is \"%.60s\", not %s's ARK (%s)", cn, prod, want);
        goto out;
    }
    snprintf(want, sizeof want, q->vlek ? "SEV-VLEK-%s" : "SEV-%s", prod);
    mc_x509_subject_cn(ask, cn, sizeof cn);
    if (strcmp(cn, want)) {
        st = mc_seterr(err, MC_E_FORMAT, "the first certificate is \"%.60s\", not %s's %s (%s)", cn, prod, askname, want);
        goto out;
    }
    if ((st = signed_by(ark, "ARK", ark, "ARK itself", err)) || (st = signed_by(ask, askname, ark, "ARK", err)) ||
        (check_time && ((st = valid_at(ark, "ARK", at, err)) || (st = valid_at(ask, askname, at, err)))))
        goto out;
    /* AMD's real ARK, or one that does not pretend to be AMD's (a test or emulated root). */
    X509 *real = mc_amd_root_x509(q->gen, MC_AMD_ARK, NULL);
    amd = real && !X509_cmp(ark, real);
    subject_field(ark, NID_organizationName, o, sizeof o);
    if (!amd && !strcmp(o, "Advanced Micro Devices")) {
        st = mc_seterr(err, MC_E_VERIFY, "the ARK names itself AMD's (O=Advanced Micro Devices) but is not AMD's real "
                                         "%s ARK",
                       prod);
        goto out;
    }
    if (amd) {
        snprintf(desc, sizeof desc, "AMD's %s ARK", prod);
    } else {
        char ou[96];
        subject_field(ark, NID_organizationalUnitName, ou, sizeof ou);
        snprintf(desc, sizeof desc, "not AMD's real ARK (OU=%.100s)", ou);
    }
    if ((st = mc_x509_der_malloc(ask, &askd, &askl, err)) || (st = mc_x509_der_malloc(ark, &arkd, &arkl, err)))
        goto out;
    free(c->ask);
    free(c->ark);
    c->ask = askd;
    c->ask_len = askl;
    c->ark = arkd;
    c->ark_len = arkl;
    c->amd_root = amd;
    snprintf(c->ark_desc, sizeof c->ark_desc, "%s", desc);
    askd = arkd = NULL;
out:
    free(askd);
    free(arkd);
    sk_X509_pop_free(sk, X509_free);
    return st;
}

static X509 *load_der(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = der ? d2i_X509(NULL, &p, (long)len) : NULL;
    ERR_clear_error();
    return x;
}

mc_status mc_kds_check_vcek(const struct mc_kds_query *q, const uint8_t *body, size_t len, time_t at,
                            struct mc_kds_certs *c, struct mc_error *err)
{
    if (!q || !body || !c)
        return mc_seterr(err, MC_E_INVAL, "kds vcek: NULL argument");
    if (q->item != MC_KDS_VCEK || !gen_ok(q->gen))
        return mc_seterr(err, MC_E_INVAL, "kds vcek: not a VCEK query");
    if (!c->ask || !c->ark)
        return mc_seterr(err, MC_E_INVAL, "kds vcek: the ASK and ARK are needed (mc_kds_check_chain)");
    if (!at)
        at = time(NULL);
    const char *prod = mc_snp_gen_name(q->gen);
    X509 *x = NULL, *ask = load_der(c->ask, c->ask_len);
    struct mc_error e;
    mc_status st = MC_OK;
    uint8_t *der = NULL;
    size_t dl = 0;
    if (!ask) {
        st = mc_seterr(err, MC_E_INVAL, "kds vcek: the ASK does not parse");
        goto out;
    }
    if (mc_x509_load(body, len, "VCEK", &x, &e)) {
        st = mc_seterr(err, MC_E_FORMAT, "the VCEK answer is not a certificate: %s", e.msg);
        goto out;
    }
    struct mc_snp_vcek_info vi;
    if (mc_snp_vcek_parse(x, &vi, &e)) {
        st = mc_seterr(err, MC_E_FORMAT, "the VCEK answer has no readable AMD extensions: %s", e.msg);
        goto out;
    }
    if (vi.gen != q->gen) {
        st = mc_seterr(err, MC_E_VERIFY, "the VCEK is for product \"%s\", not %s", vi.product, prod);
        goto out;
    }
    if (vi.has_csp_id || !vi.hwid_len) {
        st = mc_seterr(err, MC_E_VERIFY, "the answer is a VLEK (or names no hwID), not a VCEK");
        goto out;
    }
    size_t hl = q->gen == MC_SNP_GEN_TURIN ? 8 : 64;
    if (vi.hwid_len != hl || memcmp(vi.hwid, q->hwid, hl)) {
        st = mc_seterr(err, MC_E_VERIFY, "the VCEK's hwID is not the chip asked for");
        goto out;
    }
    /* Every SPL the URL named must be there and equal; any other present must equal its byte. */
    static const int named[] = {1, 2, 3, 8};
    for (int arc = 1; arc < MC_SNP_SPL_ARCS; arc++) {
        int b = mc_snp_spl_byte(q->gen, arc);
        bool must = arc == 9 ? q->gen == MC_SNP_GEN_TURIN : false;
        for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
            must = must || named[i] == arc;
        if (!vi.has_spl[arc]) {
            if (must) {
                st = mc_seterr(err, MC_E_VERIFY, "the VCEK names no %s", mc_snp_spl_name(arc));
                goto out;
            }
            continue;
        }
        unsigned wantv = b >= 0 ? (unsigned)(uint8_t)(q->tcb >> (8 * b)) : 0;
        if (vi.spl[arc] != wantv) {
            st = mc_seterr(err, MC_E_VERIFY, "the VCEK's %s is %u, the TCB asked for has %u", mc_snp_spl_name(arc),
                           vi.spl[arc], wantv);
            goto out;
        }
    }
    EVP_PKEY *k = X509_get0_pubkey(x);
    char g[40] = "";
    size_t gl = 0;
    if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC || !EVP_PKEY_get_utf8_string_param(k, "group", g, sizeof g, &gl) ||
        strcmp(g, "secp384r1")) {
        ERR_clear_error();
        st = mc_seterr(err, MC_E_VERIFY, "the VCEK's key is not EC P-384");
        goto out;
    }
    if ((st = signed_by(x, "VCEK", ask, "ASK", err)) || (st = valid_at(x, "VCEK", at, err)) ||
        (st = mc_x509_der_malloc(x, &der, &dl, err)))
        goto out;
    free(c->vcek);
    c->vcek = der;
    c->vcek_len = dl;
    der = NULL;
out:
    free(der);
    X509_free(x);
    X509_free(ask);
    return st;
}

static mc_status crl_load(const uint8_t *body, size_t len, X509_CRL **out, struct mc_error *err)
{
    *out = NULL;
    if (!len || len > CRL_MAX)
        return mc_seterr(err, MC_E_FORMAT, "the CRL answer is %zu bytes, not a plausible CRL", len);
    X509_CRL *crl = NULL;
    ERR_clear_error();
    if (len >= 10 && !memcmp(body, "-----BEGIN", 10)) {
        BIO *b = BIO_new_mem_buf(body, (int)len);
        crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    } else {
        const unsigned char *p = body;
        crl = d2i_X509_CRL(NULL, &p, (long)len);
        if (crl && p != body + len) {
            X509_CRL_free(crl);
            crl = NULL;
        }
    }
    ERR_clear_error();
    if (!crl)
        return mc_seterr(err, MC_E_FORMAT, "the CRL answer is not a DER or PEM CRL");
    *out = crl;
    return MC_OK;
}

mc_status mc_kds_check_crl(const uint8_t *body, size_t len, struct mc_kds_certs *c, struct mc_error *err)
{
    if (!body || !c)
        return mc_seterr(err, MC_E_INVAL, "kds crl: NULL argument");
    if (!c->ark)
        return mc_seterr(err, MC_E_INVAL, "kds crl: the ARK is needed (mc_kds_check_chain)");
    X509 *ark = load_der(c->ark, c->ark_len), *ask = load_der(c->ask, c->ask_len);
    X509_CRL *crl = NULL;
    unsigned char *der = NULL;
    mc_status st = MC_OK;
    if (!ark) {
        st = mc_seterr(err, MC_E_INVAL, "kds crl: the ARK does not parse");
        goto out;
    }
    if ((st = crl_load(body, len, &crl, err)))
        goto out;
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ark))) {
        st = mc_seterr(err, MC_E_VERIFY, "the CRL's issuer is not the ARK");
        goto out;
    }
    ERR_clear_error();
    int ok = X509_CRL_verify(crl, X509_get0_pubkey(ark)) == 1;
    ERR_clear_error();
    if (!ok) {
        st = mc_seterr(err, MC_E_VERIFY, "the CRL's signature does not verify with the ARK's key");
        goto out;
    }
    X509_REVOKED *rev = NULL;
    if (ask && X509_CRL_get0_by_cert(crl, &rev, ask) == 1) {
        st = mc_seterr(err, MC_E_VERIFY, "the CRL revokes the ASK this server's chain holds");
        goto out;
    }
    int n = i2d_X509_CRL(crl, &der);
    if (n <= 0) {
        st = mc_seterr(err, MC_E_CRYPTO, "cannot encode the CRL");
        goto out;
    }
    time_t next = 0;
    const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
    struct tm tm;
    if (nu && ASN1_TIME_to_tm(nu, &tm))
        next = timegm(&tm);
    STACK_OF(X509_REVOKED) *rs = X509_CRL_get_REVOKED(crl);
    free(c->crl);
    c->crl = malloc((size_t)n);
    if (!c->crl) {
        c->crl_len = 0;
        st = mc_seterr(err, MC_E_NOMEM, "out of memory");
        goto out;
    }
    memcpy(c->crl, der, (size_t)n);
    c->crl_len = (size_t)n;
    c->crl_next = next;
    c->crl_revoked = rs ? (unsigned)sk_X509_REVOKED_num(rs) : 0;
out:
    OPENSSL_free(der);
    X509_CRL_free(crl);
    X509_free(ark);
    X509_free(ask);
    ERR_clear_error();
    return st;
}

void mc_kds_certs_free(struct mc_kds_certs *c)
{
    if (!c)
        return;
    free(c->ask);
    free(c->ark);
    free(c->vcek);
    free(c->crl);
    memset(c, 0, sizeof *c);
}

mc_status mc_kds_pem(const uint8_t *der, size_t len, bool crl, uint8_t **pem, size_t *pem_len, struct mc_error *err)
{
    if (!der || !pem || !pem_len)
        return mc_seterr(err, MC_E_INVAL, "kds pem: NULL argument");
    if (!crl)
        return mc_x509_der_to_pem(der, len, pem, pem_len, err);
    X509_CRL *c = NULL;
    mc_status st = crl_load(der, len, &c, err);
    if (st)
        return st;
    st = mc_x509_crl_to_pem(c, pem, pem_len, err);
    X509_CRL_free(c);
    return st;
}
