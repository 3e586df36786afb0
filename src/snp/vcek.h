/* VCEK / VLEK certificate extensions (internal; X.509 module, uses OpenSSL's X.509 API).
 * AMD's extensions live under 1.3.6.1.4.1.3704.1: .1 structVersion INTEGER, .2 productName
 * IA5String, .3.N SPLs as INTEGER (1 bl, 2 tee, 3 snp, 4-7 spl_4..7, 8 ucode, 9 fmc), .4 hwID as
 * raw bytes (64, or 8 on Turin; an OCTET STRING around them is read too), .5 cspID IA5String (VLEK). */
#ifndef MC_SNP_VCEK_H
#define MC_SNP_VCEK_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/x509.h>

#include <memcrypt/snp_report.h>

#define MC_SNP_SPL_ARCS 10 /* .3.0 unused, .3.1 .. .3.9 */

struct mc_snp_vcek_info {
    bool has_struct_version;
    long struct_version;
    char product[64];        /* productName, printable ASCII */
    enum mc_snp_gen gen;     /* from productName */
    bool has_spl[MC_SNP_SPL_ARCS];
    uint8_t spl[MC_SNP_SPL_ARCS];
    uint8_t hwid[64];
    size_t hwid_len;         /* 0 when absent */
    bool hwid_wrapped;       /* the value was an OCTET STRING around the bytes (AMD's are raw) */
    bool has_csp_id;
    char csp_id[128];
};

/* Read AMD's extensions. The hwID is taken raw (AMD's encoding) or wrapped in an OCTET STRING
 * (hwid_wrapped says which). A non-INTEGER SPL, an SPL outside 0..255, a missing or unknown
 * productName -> MC_E_FORMAT with a sentence. */
mc_status mc_snp_vcek_parse(X509 *x, struct mc_snp_vcek_info *out, struct mc_error *err);

/* Which reported_tcb byte an SPL arc (.3.N) corresponds to for gen; -1 when none.
 * Milan/Genoa: bl 0, tee 1, spl_4..spl_7 2..5, snp 6, ucode 7 (fmc: none).
 * Turin: fmc 0, bl 1, tee 2, snp 3, spl_5..spl_7 4..6, ucode 7 (spl_4: none). */
int mc_snp_spl_byte(enum mc_snp_gen gen, int arc);
/* Human name of an SPL arc ("blSPL", ...). */
const char *mc_snp_spl_name(int arc);

#endif
