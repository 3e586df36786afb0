/* memcrypt — the client side of AMD's Key Distribution Service (kdsintf.amd.com, or a local one:
 * memcrypt/kds_site.h): which URL path answers a request, and the checks on what came back, so a
 * fetch (`memcrypt fetch ca|vcek|crl`) keeps only certificates that parse, are what was asked for
 * and chain to the ARK. No HTTP here: the caller moves the bytes (the CLI uses libcurl).
 *
 *   struct mc_kds_query q = {.item = MC_KDS_CA, .gen = MC_SNP_GEN_MILAN};
 *   mc_kds_query_path(&q, path, sizeof path, &err);        // "/vcek/v1/Milan/cert_chain"
 *   struct mc_kds_certs c = {0};
 *   mc_kds_check_chain(&q, body, len, &c, &err);           // ASK (ASVK) and ARK, DER, checked
 *   ... a VCEK: mc_kds_check_vcek(&vq, body2, len2, &c, &err) with c's ASK/ARK
 *   mc_kds_certs_free(&c);
 *
 * AMD's layout (KDS interface spec 57230): /vcek/v1/{product}/{hwid}?blSPL=&teeSPL=&snpSPL=&
 * ucodeSPL= (Turin: fmcSPL= first, hwid = the first 8 bytes of CHIP_ID) answers the VCEK in DER;
 * /{vcek|vlek}/v1/{product}/cert_chain the ASK (ASVK) then the ARK in PEM; /{vcek|vlek}/v1/
 * {product}/crl the ARK's CRL in DER.
 *
 * Every answer is untrusted: the checks refuse a body that is not exactly what was asked for
 * (another product, another chip or TCB, a certificate that does not chain, an ARK that names
 * itself AMD's but is not AMD's real one) with MC_E_FORMAT or MC_E_VERIFY and a sentence, and
 * leave *c unchanged on failure.
 *
 * Why public: a program that fetches certificates with its own HTTP client (or from a mirror)
 * keeps only what these checks accept, the same checks `memcrypt fetch` makes. */
#ifndef MEMCRYPT_KDS_CLIENT_H
#define MEMCRYPT_KDS_CLIENT_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <memcrypt/error.h>
#include <memcrypt/snp_report.h>

MC_BEGIN_DECLS

enum mc_kds_item {
    MC_KDS_CA,   /* cert_chain: ASK (VLEK: ASVK) then ARK */
    MC_KDS_VCEK, /* one chip's VCEK at one TCB */
    MC_KDS_CRL,  /* the ARK's certificate revocation list */
};

struct mc_kds_query {
    enum mc_kds_item item;
    enum mc_snp_gen gen; /* the product */
    bool vlek;           /* MC_KDS_CA, MC_KDS_CRL: the VLEK side (/vlek/v1/..., the ASVK) */
    uint8_t hwid[64];    /* MC_KDS_VCEK: CHIP_ID (Turin: its first 8 bytes name the chip) */
    uint64_t tcb;        /* MC_KDS_VCEK: the reported TCB, in gen's layout */
};

/* A VCEK query for a report: its CHIP_ID and REPORTED_TCB; gen as given, or (UNKNOWN) from the
 * report's CPUID (a version 2 report names no CPU: MC_E_INVAL asking for the product). A masked
 * CHIP_ID (MASK_CHIP_ID) -> MC_E_NOTFOUND. */
MC_API mc_status mc_kds_query_report(const struct mc_snp_report *r, enum mc_snp_gen gen, struct mc_kds_query *q,
                                     struct mc_error *err);
/* The URL path and query of q ("/vcek/v1/Milan/<hex>?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68"),
 * to append to a KDS base URL. MC_E_RANGE when n is too small; MC_E_INVAL for a bad query. */
MC_API mc_status mc_kds_query_path(const struct mc_kds_query *q, char *buf, size_t n, struct mc_error *err);

/* What a fetch got, every certificate checked; DER, malloc'd (mc_kds_certs_free). */
struct mc_kds_certs {
    uint8_t *ask, *ark, *vcek, *crl; /* ask: the ASVK for a VLEK chain */
    size_t ask_len, ark_len, vcek_len, crl_len;
    bool amd_root;       /* the ARK is AMD's own (one of the built-in roots) */
    char ark_desc[160];  /* "AMD's Milan ARK" or the ARK's subject (a test or emulated root) */
    time_t crl_next;     /* the CRL's nextUpdate (0: none) */
    unsigned crl_revoked;/* entries in the CRL */
};

/* A cert_chain answer (PEM: the ASK or ASVK, then the ARK) for q (item MC_KDS_CA or MC_KDS_CRL,
 * gen, vlek): exactly two certificates, named for q's product and side (CN ARK-{Product},
 * SEV-{Product} or SEV-VLEK-{Product}), the ARK self-signed, the ASK issued and signed by it,
 * both valid at time `at` (0: now), and an ARK whose subject says Advanced Micro Devices must be
 * AMD's real one. Fills c->ask, c->ark, c->amd_root, c->ark_desc. */
MC_API MC_MUST_CHECK mc_status mc_kds_check_chain(const struct mc_kds_query *q, const uint8_t *body, size_t len,
                                                  time_t at, struct mc_kds_certs *c, struct mc_error *err);
/* A VCEK answer (DER, or one PEM certificate) for q (item MC_KDS_VCEK), with c->ask and c->ark
 * from mc_kds_check_chain: AMD's extensions name q's product, hwID and every SPL of q's TCB, the
 * key is EC P-384, it is issued and signed by c's ASK and valid at `at` (0: now). Fills
 * c->vcek. */
MC_API MC_MUST_CHECK mc_status mc_kds_check_vcek(const struct mc_kds_query *q, const uint8_t *body, size_t len,
                                                 time_t at, struct mc_kds_certs *c, struct mc_error *err);
/* A CRL answer (DER, or PEM) with c->ark (and c->ask) from mc_kds_check_chain: issued and signed
 * by the ARK; an ASK it revokes is refused (MC_E_VERIFY). Fills c->crl, c->crl_next,
 * c->crl_revoked. */
MC_API MC_MUST_CHECK mc_status mc_kds_check_crl(const uint8_t *body, size_t len, struct mc_kds_certs *c,
                                                struct mc_error *err);
MC_API void mc_kds_certs_free(struct mc_kds_certs *c);

/* PEM of DER bytes: a certificate ("-----BEGIN CERTIFICATE-----") or, crl true, a CRL
 * ("-----BEGIN X509 CRL-----"). *pem is malloc'd (*pem_len bytes, not NUL-terminated). */
MC_API mc_status mc_kds_pem(const uint8_t *der, size_t len, bool crl, uint8_t **pem, size_t *pem_len,
                            struct mc_error *err);

MC_END_DECLS

#endif
