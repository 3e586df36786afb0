/* memcrypt — lookup in the built-in AMD ARK/ASK table. */
#include <string.h>

#include "sev/amd_roots.h"

const struct mc_sev_root *mc_sev_roots(size_t *n)
{
    if (n)
        *n = mc_sev_roots_count;
    return mc_sev_roots_table;
}

const char *mc_sev_root_match_ark(const struct mc_amd_cert *ark)
{
    if (!ark)
        return NULL;
    for (size_t i = 0; i < mc_sev_roots_count; i++) {
        struct mc_amd_cert r;
        if (mc_amd_cert_parse(mc_sev_roots_table[i].ark, mc_sev_roots_table[i].ark_len, &r, NULL) != MC_OK)
            continue;
        if (r.modulus_bits == ark->modulus_bits && r.pubexp_bits == ark->pubexp_bits &&
            !memcmp(r.modulus, ark->modulus, r.modulus_bits / 8) && !memcmp(r.pubexp, ark->pubexp, r.pubexp_bits / 8) &&
            !memcmp(r.key_id, ark->key_id, 16))
            return mc_sev_roots_table[i].name;
    }
    return NULL;
}

const char *mc_sev_root_match_body(const struct mc_amd_cert *c)
{
    if (!c)
        return NULL;
    uint8_t mine[MC_AMD_CERT_MAX_LEN], theirs[MC_AMD_CERT_MAX_LEN];
    size_t nm = 0, nt = 0;
    struct mc_amd_cert a = *c;
    a.sig_len = 0;
    if (mc_amd_cert_serialize(&a, mine, sizeof mine, &nm, NULL) != MC_OK)
        return NULL;
    for (size_t i = 0; i < mc_sev_roots_count; i++) {
        const struct mc_sev_root *r = &mc_sev_roots_table[i];
        const uint8_t *certs[2] = {r->ark, r->ask};
        const size_t lens[2] = {r->ark_len, r->ask_len};
        for (int k = 0; k < 2; k++) {
            struct mc_amd_cert b;
            if (mc_amd_cert_parse(certs[k], lens[k], &b, NULL) != MC_OK)
                continue;
            b.sig_len = 0;
            if (mc_amd_cert_serialize(&b, theirs, sizeof theirs, &nt, NULL) == MC_OK && nt == nm &&
                !memcmp(mine, theirs, nm))
                return r->name;
        }
    }
    return NULL;
}
