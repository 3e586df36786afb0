/* AMD KDS certificate formats (internal; X.509 module, uses OpenSSL's X.509 API).
 *
 * One builder for every SEV-SNP certificate memcrypt makes — the fixture factory's test roots and
 * the emulated chip's roots — in the shape of AMD's key distribution service (digest §7, checked
 * against AMD's real ARK/ASK/ASVK and VCEK/VLEK certificates in data/amd and tests/data/amd):
 *
 *   subject/issuer  OU, C=US, L=Santa Clara, ST=CA, O, CN  (AMD's order; OU and O carry the marking)
 *   ARK   serial 0x0G0000, self-signed, KU critical {keyCertSign, cRLSign}, SKI, BC critical CA:TRUE,
 *         CRL DP https://kdsintf.amd.com/vcek/v1/<Product>/crl
 *   ASK   serial 0x0G0001, SKI, AKI, BC critical CA:TRUE pathlen:0, KU critical keyCertSign, CRL DP (vcek)
 *   ASVK  serial 0x0G0101, as the ASK, CN SEV-VLEK-<Product>, CRL DP https://kdsintf.amd.com/vlek/v1/<Product>/crl
 *   VCEK/VLEK  serial 0, no standard extension, AMD's 1.3.6.1.4.1.3704.1 extensions in AMD's order:
 *         .1 structVersion, .2 productName, SPLs (Turin: .3.9 fmc first), .4 hwID raw (VCEK) or
 *         .5 cspID (VLEK)
 *   every signature RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48.
 * (G = 1 Milan, 2 Genoa, 3 Turin, as AMD numbers its roots.)
 *
 * The marking: AMD's certificates say OU=Engineering, O=Advanced Micro Devices. Ours never do:
 *   TEST      OU="memcrypt TEST ROOT (not AMD)",  O="memcrypt test root, not Advanced Micro Devices"
 *   EMULATED  OU="memcrypt EMULATED chip (not AMD)", O="memcrypt emulated platform, not Advanced Micro Devices"
 * The CN stays AMD's ("ARK-Milan", "SEV-VCEK", ...) so tools that read the product from it work.
 */
#ifndef MC_SNP_KDSCERT_H
#define MC_SNP_KDSCERT_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/types.h>
#include <openssl/x509.h>

#include <memcrypt/error.h>
#include <memcrypt/snp_report.h>

enum mc_kds_mark { MC_KDS_MARK_NONE = 0, MC_KDS_MARK_TEST, MC_KDS_MARK_EMULATED };
enum mc_kds_role { MC_KDS_ARK, MC_KDS_ASK, MC_KDS_ASVK };

#define MC_KDS_OU_TEST "memcrypt TEST ROOT (not AMD)"
#define MC_KDS_OU_EMULATED "memcrypt EMULATED chip (not AMD)"

/* The marking a name carries (its OU), or NONE. */
enum mc_kds_mark mc_kds_mark_of(const X509_NAME *n);
/* "test", "EMULATED" or "" */
const char *mc_kds_mark_name(enum mc_kds_mark m);

/* productName as AMD's KDS writes it: Milan VCEK "Milan-B<stepping>", every other VCEK and every
 * VLEK the bare product ("Genoa", "Turin", "Milan"). */
void mc_kds_product_name(enum mc_snp_gen g, bool vlek, unsigned stepping, char *buf, size_t n);

/* An ARK (issuer == NULL: self-signed by issuer_key, which must be pub's private key), ASK or ASVK
 * (issued by the ARK). lc: library context for the PSS salt (NULL = default). Signed. */
mc_status mc_kds_make_ca(OSSL_LIB_CTX *lc, enum mc_kds_mark mark, enum mc_snp_gen g, enum mc_kds_role role,
                         EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key, long not_before, long not_after,
                         X509 **out, struct mc_error *err);

struct mc_kds_leaf {
    enum mc_snp_gen gen;
    bool vlek;
    unsigned stepping;         /* productName of a Milan VCEK */
    uint64_t tcb;              /* SPLs, in gen's TCB layout */
    const uint8_t *hwid;       /* VCEK: 64 bytes (Turin: 8 are used) */
    const char *csp_id;        /* VLEK: cspID */
};
/* A VCEK or VLEK for pub, issued by the ASK/ASVK. Signed. */
mc_status mc_kds_make_leaf(OSSL_LIB_CTX *lc, enum mc_kds_mark mark, const struct mc_kds_leaf *l, EVP_PKEY *pub,
                           X509 *issuer, EVP_PKEY *issuer_key, long not_before, long not_after, X509 **out,
                           struct mc_error *err);

/* The ARK's certificate revocation list as AMD's KDS serves it at .../crl: version 2, issuer the
 * ARK, CRL number 1, the ARK's key identifier, no revoked certificate (the emulated roots revoke
 * nothing), signed by the ARK with RSASSA-PSS SHA-384 salt 48. DER into a malloc'd buffer. */
mc_status mc_kds_make_crl(OSSL_LIB_CTX *lc, X509 *ark, EVP_PKEY *ark_key, long last_update, long next_update,
                          uint8_t **der, size_t *len, struct mc_error *err);

#endif
