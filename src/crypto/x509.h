/* memcrypt — small X.509 helpers over OpenSSL (internal; this module's job is X.509, so it
 * uses OpenSSL's X.509 API directly). */
#ifndef MC_CRYPTO_X509_H
#define MC_CRYPTO_X509_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include <memcrypt/error.h>

/* Parse exactly one certificate from DER or PEM bytes (PEM when the text starts with
 * "-----BEGIN"; trailing garbage after DER is refused). what names it in messages. */
mc_status mc_x509_load(const uint8_t *buf, size_t len, const char *what, X509 **out, struct mc_error *err);
/* Read a certificate file (DER or PEM). */
mc_status mc_x509_load_file(const char *path, const char *what, X509 **out, struct mc_error *err);
/* notBefore / notAfter as Unix time. */
mc_status mc_x509_validity(const X509 *x, time_t *not_before, time_t *not_after, struct mc_error *err);
/* The subject's commonName into buf ("" when absent). */
void mc_x509_subject_cn(const X509 *x, char *buf, size_t n);
/* The one-line subject into buf. */
void mc_x509_subject_str(const X509 *x, char *buf, size_t n);
/* Every certificate of a PEM bundle (AMD's cert_chain files hold ASK then ARK; some hold ARK,
 * ASK and ASVK), or the one certificate of DER bytes. At most MC_X509_BUNDLE_MAX. The caller
 * frees with sk_X509_pop_free(sk, X509_free). */
#define MC_X509_BUNDLE_MAX 8
mc_status mc_x509_load_bundle(const uint8_t *buf, size_t len, const char *what, STACK_OF(X509) **out,
                              struct mc_error *err);
/* DER encoding (caller frees with OPENSSL_free). */
mc_status mc_x509_der(const X509 *x, uint8_t **der, size_t *len, struct mc_error *err);

/* DER encoding in a malloc'd buffer (caller frees with free). */
mc_status mc_x509_der_malloc(const X509 *x, uint8_t **der, size_t *len, struct mc_error *err);

/* PEM ("-----BEGIN CERTIFICATE-----") of one DER certificate; *pem is malloc'd (not
 * NUL-terminated; *pem_len bytes). */
mc_status mc_x509_der_to_pem(const uint8_t *der, size_t len, uint8_t **pem, size_t *pem_len, struct mc_error *err);
/* The same for a CRL ("-----BEGIN X509 CRL-----"). */
mc_status mc_x509_crl_to_pem(const X509_CRL *crl, uint8_t **pem, size_t *pem_len, struct mc_error *err);

#endif
