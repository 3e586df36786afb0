/* The emulated AMD root keys: lookup and decoding (emu_roots.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/crypto.h>

#include "snp/emu_roots.h"

static const struct mc_emu_root *find(const char *product, enum mc_emu_role role, unsigned bits)
{
    for (size_t i = 0; product && i < mc_emu_roots_count; i++)
        if (mc_emu_roots[i].role == role && mc_emu_roots[i].bits == bits && !strcmp(mc_emu_roots[i].product, product))
            return &mc_emu_roots[i];
    return NULL;
}

bool mc_emu_root_known(const char *product) { return find(product, MC_EMU_ARK, 4096) != NULL; }

bool mc_emu_root_is(const char *product, enum mc_emu_role role, unsigned bits, const uint8_t *der, size_t len)
{
    const struct mc_emu_root *r = find(product, role, bits);
    if (!r || !der)
        return false;
    size_t n = strlen(r->der_b64), got = 0;
    uint8_t *own = malloc(n);
    bool same = own && mc_base64_decode(r->der_b64, n, own, n, &got, NULL) == MC_OK && got == len &&
                memcmp(own, der, len) == 0;
    if (own)
        mc_wipe(own, n);
    free(own);
    return same;
}

mc_status mc_emu_root_key(const char *product, enum mc_emu_role role, unsigned bits, struct mc_pk **out,
                          struct mc_error *err)
{
    static const char *const names[] = {"ARK", "ASK", "ASVK"};
    const struct mc_emu_root *r = find(product, role, bits);
    if (!out || (unsigned)role > MC_EMU_ASVK)
        return mc_seterr(err, MC_E_INVAL, "emulated root key: bad argument");
    if (!r)
        return mc_seterr(err, MC_E_NOTFOUND, "no emulated %s of %u bits for '%s'", names[role], bits,
                         product ? product : "(no product)");
    size_t n = strlen(r->der_b64), len = 0;
    uint8_t *der = malloc(n);
    if (!der)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    mc_status st = mc_base64_decode(r->der_b64, n, der, n, &len, err);
    if (!st)
        st = mc_pk_from_private_der(der, len, MC_PK_RSA, out, err);
    mc_wipe(der, n);
    free(der);
    return st;
}
