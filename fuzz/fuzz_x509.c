/* Fuzz target: the SNP chain's X.509 certificates as `certs show` reads them — one DER/PEM
 * certificate or a PEM bundle, AMD's extensions (hwID raw or wrapped, SPLs, productName, cspID),
 * the built-in root lookup and the signer search. Nothing may crash; what is described must be
 * within its bounds. */
#include <stdint.h>
#include <stdlib.h>

#include <memcrypt/snp_verify.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mc_snp_certinfo ci[MC_SNP_CERTINFO_MAX];
    size_t n = 0;
    struct mc_error e;
    if (mc_snp_certs_describe(data, size, ci, MC_SNP_CERTINFO_MAX, &n, &e) != MC_OK)
        return 0;
    if (n == 0 || n > MC_SNP_CERTINFO_MAX)
        abort();
    for (size_t i = 0; i < n; i++)
        if (ci[i].hwid_len != 0 && ci[i].hwid_len != 8 && ci[i].hwid_len != 64)
            abort();
    return 0;
}
