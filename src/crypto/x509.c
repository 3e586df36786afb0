/* X.509 helpers. This module's job is X.509, so it uses OpenSSL's X.509 API directly. */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memcrypt/fileio.h>

#include "crypto/crypto.h"
#include "crypto/x509.h"

#define MC_CERT_MAX (64u * 1024u)

mc_status mc_x509_load(const uint8_t *buf, size_t len, const char *what, X509 **out, struct mc_error *err)
{
    char e[200];
    if (!buf || !out)
        return mc_seterr(err, MC_E_INVAL, "no %s certificate was given", what);
    if (len == 0 || len > MC_CERT_MAX)
        return mc_seterr(err, MC_E_FORMAT, "the %s certificate is %zu bytes, not a plausible certificate", what, len);
    X509 *x = NULL;
    ERR_clear_error();
    if (len >= 10 && !memcmp(buf, "-----BEGIN", 10)) {
        BIO *b = BIO_new_mem_buf(buf, (int)len);
        if (!b)
            return mc_seterr(err, MC_E_NOMEM, "out of memory reading the %s certificate", what);
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        if (!x)
            return mc_seterr(err, MC_E_FORMAT, "the %s is not a PEM certificate (%s)", what,
                             mc_openssl_errstr(e, sizeof e));
    } else {
        const unsigned char *p = buf;
        x = d2i_X509(NULL, &p, (long)len);
        if (!x)
            return mc_seterr(err, MC_E_FORMAT, "the %s is not a DER certificate (%s)", what,
                             mc_openssl_errstr(e, sizeof e));
        if ((size_t)(p - buf) != len) {
            X509_free(x);
            return mc_seterr(err, MC_E_FORMAT, "the %s certificate has %zu bytes of trailing data", what,
                             len - (size_t)(p - buf));
        }
    }
    *out = x;
    return MC_OK;
}

mc_status mc_x509_load_file(const char *path, const char *what, X509 **out, struct mc_error *err)
{
    uint8_t *buf;
    size_t len;
    struct mc_error e2;
    if (mc_file_read(path, MC_CERT_MAX, &buf, &len, &e2) != MC_OK)
        return mc_seterr(err, e2.code, "%s certificate: %s", what, e2.msg);
    mc_status st = mc_x509_load(buf, len, what, out, err);
    free(buf);
    return st;
}

static mc_status asn1_time_to_unix(const ASN1_TIME *t, time_t *out)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return MC_E_FORMAT;
    int64_t y = tm.tm_year + 1900, m = tm.tm_mon + 1, d = tm.tm_mday;
    /* days from civil (proleptic Gregorian) */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    *out = (time_t)(days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
    return MC_OK;
}

mc_status mc_x509_validity(const X509 *x, time_t *nb, time_t *na, struct mc_error *err)
{
    if (asn1_time_to_unix(X509_get0_notBefore(x), nb) || asn1_time_to_unix(X509_get0_notAfter(x), na))
        return mc_seterr(err, MC_E_FORMAT, "the certificate's validity dates cannot be read");
    return MC_OK;
}

void mc_x509_subject_cn(const X509 *x, char *buf, size_t n)
{
    buf[0] = 0;
    X509_NAME *nm = X509_get_subject_name(x);
    int i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
    if (i < 0)
        return;
    ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i));
    int len = ASN1_STRING_length(s);
    const unsigned char *d = ASN1_STRING_get0_data(s);
    size_t k = 0;
    for (int j = 0; j < len && k + 1 < n; j++)
        buf[k++] = (d[j] >= 0x20 && d[j] < 0x7f) ? (char)d[j] : '?';
    buf[k] = 0;
}

void mc_x509_subject_str(const X509 *x, char *buf, size_t n)
{
    buf[0] = 0;
    X509_NAME_oneline(X509_get_subject_name(x), buf, (int)n);
}

mc_status mc_x509_der(const X509 *x, uint8_t **der, size_t *len, struct mc_error *err)
{
    unsigned char *p = NULL;
    int n = i2d_X509(x, &p);
    if (n <= 0)
        return mc_seterr(err, MC_E_CRYPTO, "cannot encode a certificate");
    *der = p;
    *len = (size_t)n;
    return MC_OK;
}

mc_status mc_x509_load_bundle(const uint8_t *buf, size_t len, const char *what, STACK_OF(X509) **out,
                              struct mc_error *err)
{
    if (!buf || !out)
        return mc_seterr(err, MC_E_INVAL, "no %s certificate was given", what);
    *out = NULL;
    if (len == 0 || len > MC_CERT_MAX)
        return mc_seterr(err, MC_E_FORMAT, "the %s file is %zu bytes, not a plausible certificate or bundle", what, len);
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (!sk)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    /* PEM text may hold several certificates (AMD's cert_chain: ASK then ARK); anything else is
     * one DER certificate. */
    const uint8_t *p = buf, *end = buf + len;
    bool pem = false;
    for (const uint8_t *q = buf; q + 10 <= end; q++)
        if (!memcmp(q, "-----BEGIN", 10)) {
            pem = true;
            break;
        }
    if (!pem) {
        X509 *x = NULL;
        mc_status st = mc_x509_load(buf, len, what, &x, err);
        if (st || !sk_X509_push(sk, x)) {
            X509_free(x);
            sk_X509_free(sk);
            return st ? st : mc_seterr(err, MC_E_NOMEM, "out of memory");
        }
        *out = sk;
        return MC_OK;
    }
    BIO *b = BIO_new_mem_buf(p, (int)len);
    if (!b) {
        sk_X509_free(sk);
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    }
    X509 *x;
    ERR_clear_error();
    while (sk_X509_num(sk) < MC_X509_BUNDLE_MAX && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            break;
        }
    unsigned long last = ERR_peek_last_error();
    bool clean_end = ERR_GET_REASON(last) == PEM_R_NO_START_LINE || last == 0;
    ERR_clear_error();
    BIO_free(b);
    if (sk_X509_num(sk) == 0 || !clean_end) {
        sk_X509_pop_free(sk, X509_free);
        return mc_seterr(err, MC_E_FORMAT, "the %s file holds %s", what,
                         clean_end ? "no PEM certificate" : "a PEM block that is not a valid certificate");
    }
    *out = sk;
    return MC_OK;
}

mc_status mc_x509_der_malloc(const X509 *x, uint8_t **der, size_t *len, struct mc_error *err)
{
    uint8_t *d = NULL;
    size_t n = 0;
    mc_status st = mc_x509_der(x, &d, &n, err);
    if (st)
        return st;
    uint8_t *b = malloc(n);
    if (b)
        memcpy(b, d, n);
    OPENSSL_free(d);
    if (!b)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    *der = b;
    *len = n;
    return MC_OK;
}

/* What a memory BIO holds, in a malloc'd buffer; the BIO is freed. NULL when anything failed. */
static uint8_t *bio_take(BIO *b, int wrote, size_t *len)
{
    BUF_MEM *bm = NULL;
    uint8_t *out = NULL;
    if (b && wrote && BIO_get_mem_ptr(b, &bm) > 0 && (out = malloc(bm->length ? bm->length : 1))) {
        memcpy(out, bm->data, bm->length);
        *len = bm->length;
    }
    BIO_free(b);
    ERR_clear_error();
    return out;
}

mc_status mc_x509_der_to_pem(const uint8_t *der, size_t len, uint8_t **pem, size_t *pem_len, struct mc_error *err)
{
    if (!der || !pem || !pem_len)
        return mc_seterr(err, MC_E_INVAL, "no certificate to encode");
    X509 *x = NULL;
    if (len >= 10 && !memcmp(der, "-----BEGIN", 10))
        return mc_seterr(err, MC_E_FORMAT, "the certificate is already PEM");
    mc_status st = mc_x509_load(der, len, "certificate", &x, err);
    if (st)
        return st;
    BIO *b = BIO_new(BIO_s_mem());
    uint8_t *out = bio_take(b, b && PEM_write_bio_X509(b, x), pem_len);
    X509_free(x);
    if (!out)
        return mc_seterr(err, MC_E_NOMEM, "cannot PEM-encode a certificate");
    *pem = out;
    return MC_OK;
}

mc_status mc_x509_crl_to_pem(const X509_CRL *crl, uint8_t **pem, size_t *pem_len, struct mc_error *err)
{
    if (!crl || !pem || !pem_len)
        return mc_seterr(err, MC_E_INVAL, "no CRL to encode");
    BIO *b = BIO_new(BIO_s_mem());
    uint8_t *out = bio_take(b, b && PEM_write_bio_X509_CRL(b, (X509_CRL *)crl), pem_len);
    if (!out)
        return mc_seterr(err, MC_E_NOMEM, "cannot PEM-encode a CRL");
    *pem = out;
    return MC_OK;
}
