/* AMD KDS certificate formats: the one builder behind the fixture factory and the emulated chip's
 * roots. This module's job is X.509, so it uses OpenSSL's X.509 API directly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"
#include "snp/kdscert.h"
#include "snp/vcek.h"

static const struct {
    const char *ou, *o;
} marks[] = {
    [MC_KDS_MARK_NONE] = {"Engineering", "Advanced Micro Devices"},
    [MC_KDS_MARK_TEST] = {MC_KDS_OU_TEST, "memcrypt test root, not Advanced Micro Devices"},
    [MC_KDS_MARK_EMULATED] = {MC_KDS_OU_EMULATED, "memcrypt emulated platform, not Advanced Micro Devices"},
};

static mc_status ossl_err(struct mc_error *err, const char *what)
{
    char b[200];
    mc_openssl_errstr(b, sizeof b);
    ERR_clear_error();
    return mc_seterr(err, MC_E_CRYPTO, "%s failed: %s", what, b);
}

enum mc_kds_mark mc_kds_mark_of(const X509_NAME *n)
{
    char ou[128];
    if (!n || X509_NAME_get_text_by_NID(n, NID_organizationalUnitName, ou, sizeof ou) <= 0)
        return MC_KDS_MARK_NONE;
    if (!strcmp(ou, MC_KDS_OU_TEST))
        return MC_KDS_MARK_TEST;
    if (!strcmp(ou, MC_KDS_OU_EMULATED))
        return MC_KDS_MARK_EMULATED;
    return MC_KDS_MARK_NONE;
}

const char *mc_kds_mark_name(enum mc_kds_mark m)
{
    return m == MC_KDS_MARK_TEST ? "test" : m == MC_KDS_MARK_EMULATED ? "EMULATED" : "";
}

void mc_kds_product_name(enum mc_snp_gen g, bool vlek, unsigned stepping, char *buf, size_t n)
{
    if (g == MC_SNP_GEN_MILAN && !vlek)
        snprintf(buf, n, "Milan-B%u", stepping);
    else
        snprintf(buf, n, "%s", mc_snp_gen_name(g));
}

static int add_name(X509_NAME *n, enum mc_kds_mark mark, const char *cn)
{
    const char *ou = marks[mark].ou, *o = marks[mark].o;
    return X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC, (const unsigned char *)ou, -1, -1, 0) &&
           X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0) &&
           X509_NAME_add_entry_by_txt(n, "L", MBSTRING_ASC, (const unsigned char *)"Santa Clara", -1, -1, 0) &&
           X509_NAME_add_entry_by_txt(n, "ST", MBSTRING_ASC, (const unsigned char *)"CA", -1, -1, 0) &&
           X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)o, -1, -1, 0) &&
           X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
}

static int add_v3(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

/* AMD extension 1.3.6.1.4.1.3704.1.<arc> whose value is the given DER (or raw) bytes. */
static int add_amd(X509 *x, const char *arc, const unsigned char *val, int len)
{
    char oid[64];
    snprintf(oid, sizeof oid, "1.3.6.1.4.1.3704.1.%s", arc);
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    int ok = o && os && ASN1_OCTET_STRING_set(os, val, len);
    X509_EXTENSION *e = ok ? X509_EXTENSION_create_by_OBJ(NULL, o, 0, os) : NULL;
    ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(o);
    return ok;
}

static int add_amd_int(X509 *x, const char *arc, long v)
{
    ASN1_INTEGER *i = ASN1_INTEGER_new();
    unsigned char *der = NULL;
    int n = (i && ASN1_INTEGER_set(i, v)) ? i2d_ASN1_INTEGER(i, &der) : -1;
    int ok = n > 0 && add_amd(x, arc, der, n);
    OPENSSL_free(der);
    ASN1_INTEGER_free(i);
    return ok;
}

static int add_amd_ia5(X509 *x, const char *arc, const char *s)
{
    ASN1_IA5STRING *a = ASN1_IA5STRING_new();
    unsigned char *der = NULL;
    int n = (a && ASN1_STRING_set(a, s, (int)strlen(s))) ? i2d_ASN1_IA5STRING(a, &der) : -1;
    int ok = n > 0 && add_amd(x, arc, der, n);
    OPENSSL_free(der);
    ASN1_IA5STRING_free(a);
    return ok;
}

static mc_status sign_pss(OSSL_LIB_CTX *lc, X509 *x, EVP_PKEY *key, struct mc_error *err)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int ok = m && EVP_DigestSignInit_ex(m, &pc, "SHA384", lc, NULL, key, NULL) > 0 &&
             EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 48) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, "SHA384", NULL) > 0 &&
             X509_sign_ctx(x, m) > 0;
    EVP_MD_CTX_free(m);
    return ok ? MC_OK : ossl_err(err, "RSASSA-PSS certificate signing");
}

/* Version 3, serial, names, validity, key. issuer == NULL: self-issued. */
static mc_status cert_base(enum mc_kds_mark mark, const char *cn, uint32_t serial, EVP_PKEY *pub, X509 *issuer,
                           long nb, long na, X509 **out, struct mc_error *err)
{
    X509 *x = X509_new();
    X509_NAME *subj = X509_NAME_new();
    int ok = x && subj && X509_set_version(x, 2) && ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) &&
             add_name(subj, mark, cn) && X509_set_subject_name(x, subj) &&
             X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subj) &&
             ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) && ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) &&
             X509_set_pubkey(x, pub);
    X509_NAME_free(subj);
    if (!ok) {
        X509_free(x);
        return ossl_err(err, "building a certificate");
    }
    *out = x;
    return MC_OK;
}

/* ok: the extensions went in. Sign and hand x out, or free it. */
static mc_status finish(OSSL_LIB_CTX *lc, X509 *x, int ok, EVP_PKEY *issuer_key, const char *what, X509 **out,
                        struct mc_error *err)
{
    mc_status st = ok ? sign_pss(lc, x, issuer_key, err) : ossl_err(err, what);
    if (st) {
        X509_free(x);
        return st;
    }
    *out = x;
    return MC_OK;
}

mc_status mc_kds_make_ca(OSSL_LIB_CTX *lc, enum mc_kds_mark mark, enum mc_snp_gen g, enum mc_kds_role role,
                         EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key, long nb, long na, X509 **out,
                         struct mc_error *err)
{
    if (!pub || !issuer_key || !out || (role == MC_KDS_ARK) != (issuer == NULL) || g < MC_SNP_GEN_MILAN ||
        g > MC_SNP_GEN_TURIN || (unsigned)mark > MC_KDS_MARK_EMULATED)
        return mc_seterr(err, MC_E_INVAL, "KDS root certificate: bad arguments");
    const char *prod = mc_snp_gen_name(g);
    char cn[64], crl[128];
    uint32_t gnum = (uint32_t)(g - MC_SNP_GEN_MILAN + 1), serial;
    switch (role) {
    case MC_KDS_ARK: snprintf(cn, sizeof cn, "ARK-%s", prod); serial = gnum << 16; break;
    case MC_KDS_ASK: snprintf(cn, sizeof cn, "SEV-%s", prod); serial = gnum << 16 | 1; break;
    default: snprintf(cn, sizeof cn, "SEV-VLEK-%s", prod); serial = gnum << 16 | 0x101; break;
    }
    snprintf(crl, sizeof crl, "URI:https://kdsintf.amd.com/%s/v1/%s/crl", role == MC_KDS_ASVK ? "vlek" : "vcek", prod);
    X509 *x = NULL;
    mc_status st = cert_base(mark, cn, serial, pub, issuer, nb, na, &x, err);
    if (st)
        return st;
    int ok;
    if (role == MC_KDS_ARK)
        ok = add_v3(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") && add_v3(x, x, NID_subject_key_identifier, "hash") &&
             add_v3(x, x, NID_basic_constraints, "critical,CA:TRUE") && add_v3(x, x, NID_crl_distribution_points, crl);
    else
        ok = add_v3(x, issuer, NID_subject_key_identifier, "hash") &&
             add_v3(x, issuer, NID_authority_key_identifier, "keyid:always") &&
             add_v3(x, issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
             add_v3(x, issuer, NID_key_usage, "critical,keyCertSign") &&
             add_v3(x, issuer, NID_crl_distribution_points, crl);
    return finish(lc, x, ok, issuer_key, "adding the root certificate extensions", out, err);
}

mc_status mc_kds_make_leaf(OSSL_LIB_CTX *lc, enum mc_kds_mark mark, const struct mc_kds_leaf *l, EVP_PKEY *pub,
                           X509 *issuer, EVP_PKEY *issuer_key, long nb, long na, X509 **out, struct mc_error *err)
{
    if (!l || !pub || !issuer || !issuer_key || !out || l->gen < MC_SNP_GEN_MILAN || l->gen > MC_SNP_GEN_TURIN ||
        (l->vlek ? !l->csp_id : !l->hwid) || (unsigned)mark > MC_KDS_MARK_EMULATED)
        return mc_seterr(err, MC_E_INVAL, "KDS leaf certificate: bad arguments");
    enum mc_snp_gen g = l->gen;
    X509 *x = NULL;
    mc_status st = cert_base(mark, l->vlek ? "SEV-VLEK" : "SEV-VCEK", 0, pub, issuer, nb, na, &x, err);
    if (st)
        return st;
    char product[32];
    mc_kds_product_name(g, l->vlek, l->stepping, product, sizeof product);
    int ok = add_amd_int(x, "1", g == MC_SNP_GEN_TURIN ? 1 : 0) && add_amd_ia5(x, "2", product);
    /* SPL extensions in AMD's order: (Turin: fmc first) bl, tee, [spl_4..7], snp, ucode. The real
     * Turin VCEK has no spl_4 (.3.4): Turin's layout has no byte for it (src/snp/vcek.c). */
    static const int order_mg[] = {1, 2, 4, 5, 6, 7, 3, 8}, order_t[] = {9, 1, 2, 3, 5, 6, 7, 8};
    const int *order = g == MC_SNP_GEN_TURIN ? order_t : order_mg;
    for (int i = 0; ok && i < 8; i++) {
        char arc[8];
        snprintf(arc, sizeof arc, "3.%d", order[i]);
        int byte = mc_snp_spl_byte(g, order[i]);
        ok = add_amd_int(x, arc, byte < 0 ? 0 : (long)((l->tcb >> (8 * byte)) & 0xff));
    }
    if (ok)
        ok = l->vlek ? add_amd_ia5(x, "5", l->csp_id) : add_amd(x, "4", l->hwid, g == MC_SNP_GEN_TURIN ? 8 : 64);
    return finish(lc, x, ok, issuer_key, "adding AMD's extensions", out, err);
}

mc_status mc_kds_make_crl(OSSL_LIB_CTX *lc, X509 *ark, EVP_PKEY *ark_key, long last_update, long next_update,
                          uint8_t **der, size_t *len, struct mc_error *err)
{
    X509_CRL *c = X509_CRL_new();
    ASN1_TIME *lu = ASN1_TIME_set(NULL, (time_t)last_update), *nu = ASN1_TIME_set(NULL, (time_t)next_update);
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ark);
    int ok = c && lu && nu && num && aki && ski && X509_CRL_set_version(c, X509_CRL_VERSION_2) &&
             X509_CRL_set_issuer_name(c, X509_get_subject_name(ark)) && X509_CRL_set1_lastUpdate(c, lu) &&
             X509_CRL_set1_nextUpdate(c, nu) && ASN1_INTEGER_set(num, 1) &&
             X509_CRL_add1_ext_i2d(c, NID_crl_number, num, 0, 0) > 0 &&
             (aki->keyid = ASN1_OCTET_STRING_dup(ski)) != NULL &&
             X509_CRL_add1_ext_i2d(c, NID_authority_key_identifier, aki, 0, 0) > 0;
    mc_status st = MC_OK;
    if (!ok) {
        st = ossl_err(err, "building a CRL");
    } else {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pc = NULL;
        ok = m && EVP_DigestSignInit_ex(m, &pc, "SHA384", lc, NULL, ark_key, NULL) > 0 &&
             EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 48) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, "SHA384", NULL) > 0 &&
             X509_CRL_sign_ctx(c, m) > 0;
        EVP_MD_CTX_free(m);
        if (!ok)
            st = ossl_err(err, "RSASSA-PSS CRL signing");
    }
    if (!st) {
        unsigned char *d = NULL;
        int n = i2d_X509_CRL(c, &d);
        if (n <= 0) {
            st = ossl_err(err, "encoding a CRL");
        } else {
            *der = malloc((size_t)n);
            if (*der) {
                memcpy(*der, d, (size_t)n);
                *len = (size_t)n;
            } else {
                st = mc_seterr(err, MC_E_NOMEM, "out of memory");
            }
            OPENSSL_free(d);
        }
    }
    AUTHORITY_KEYID_free(aki);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(lu);
    ASN1_TIME_free(nu);
    X509_CRL_free(c);
    return st;
}
