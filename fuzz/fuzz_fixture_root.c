/* Fuzz target: an existing test root as `memcrypt fixtures --root` reads it (snp/fixture_root.h):
 * the ARK and ASK/ASVK certificates and their PEM private keys, checked as hostile input. Input:
 * one flag byte (bit 0: the root is read for a VLEK, so its intermediate is an ASVK), then up to
 * four files — ark.pem, ark-key.pem, ask.pem|asvk.pem, its -key.pem — separated by the line
 * "@@@@"; a file not given is missing. A root is refused with a sentence naming its file, or
 * accepted with an ARK and its key of a known generation and an intermediate exactly when both
 * its files were given. Never a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "snp/fixture_root.h"

static const char SEP[] = "\n@@@@\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4 * MC_FX_FILE_MAX)
        return 0;
    bool vlek = data[0] & 1;
    static const char *const names[MC_FX_FILES] = {"fuzz/ark.pem", "fuzz/ark-key.pem", "fuzz/ask.pem", "fuzz/ask-key.pem"};
    struct mc_fx_file f[MC_FX_FILES];
    memset(f, 0, sizeof f);
    size_t pos = 1, seplen = sizeof SEP - 1;
    bool more = true; /* a file follows (the first always; the others after a separator) */
    for (int i = 0; i < MC_FX_FILES; i++) {
        f[i].path = names[i];
        if (!more)
            continue;
        size_t e = pos;
        while (e + seplen <= size && memcmp(data + e, SEP, seplen))
            e++;
        more = e + seplen <= size;
        if (!more)
            e = size;
        f[i].data = data + pos;
        f[i].len = e - pos;
        pos = more ? e + seplen : size;
    }
    struct mc_fx_root r;
    struct mc_error err;
    err.msg[0] = 0;
    mc_status st = mc_fx_root_parse(NULL, f, vlek, &r, &err);
    if (st != MC_OK) {
        if (!err.msg[0] || r.ark || r.ark_key || r.inter || r.inter_key)
            abort();
        return 0;
    }
    if (!r.ark || !r.ark_key || r.gen < MC_SNP_GEN_MILAN || r.gen > MC_SNP_GEN_TURIN)
        abort();
    if ((r.inter != NULL) != (f[MC_FX_INTER].data != NULL) || (r.inter != NULL) != (r.inter_key != NULL))
        abort();
    if (X509_check_private_key(r.ark, r.ark_key) != 1 || (r.inter && X509_check_private_key(r.inter, r.inter_key) != 1))
        abort();
    mc_fx_root_clear(&r);
    return 0;
}
