/* An existing test root, as mc_snp_fixture_make_root wrote it, read back and checked as hostile
 * input (internal: the fixture factory's --root and its fuzz target).
 *
 * A root folder holds ark.pem + ark-key.pem and ask.pem + ask-key.pem (a VCEK root) or asvk.pem +
 * asvk-key.pem (a VLEK root). Checked, each failure naming its file: every certificate parses; its
 * subject and issuer carry the TEST marking (OU "memcrypt TEST ROOT (not AMD)"); the ARK's CN is
 * ARK-<Product> of a known generation and the intermediate's SEV-<Product> (ASK) or
 * SEV-VLEK-<Product> (ASVK) of the same one; both are RSA-4096 CAs signed RSASSA-PSS SHA-384; the
 * ARK is self-signed, the intermediate issued and signed by it (OpenSSL's chain verification,
 * times not checked: the fixture dates are fixed); each private key is a PEM key of its
 * certificate (never a passphrase prompt: an encrypted key is refused). */
#ifndef MC_SNP_FIXTURE_ROOT_H
#define MC_SNP_FIXTURE_ROOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include <memcrypt/error.h>
#include <memcrypt/snp_report.h>

#define MC_FX_FILE_MAX (64u << 10) /* a certificate or key file of a root (they are ~2-3 KiB) */

struct mc_fx_root {
    enum mc_snp_gen gen;
    X509 *ark;
    EVP_PKEY *ark_key;
    X509 *inter;       /* the ASK (VCEK) or ASVK (VLEK); NULL when the root has none */
    EVP_PKEY *inter_key;
};

/* One file of a root: path names it in messages; data == NULL: the file is missing. */
struct mc_fx_file {
    const char *path;
    const uint8_t *data;
    size_t len;
};
enum { MC_FX_ARK, MC_FX_ARK_KEY, MC_FX_INTER, MC_FX_INTER_KEY, MC_FX_FILES };

/* Check the files of a root (vlek: the intermediate is an ASVK, else an ASK). The intermediate
 * may be missing (both files), the ARK not. lc: library context for the keys (NULL = default).
 * On failure *out is empty and err names the file. */
mc_status mc_fx_root_parse(OSSL_LIB_CTX *lc, const struct mc_fx_file f[MC_FX_FILES], bool vlek, struct mc_fx_root *out,
                           struct mc_error *err);
/* Read dir's files and check them as mc_fx_root_parse does. */
mc_status mc_fx_root_load(OSSL_LIB_CTX *lc, const char *dir, bool vlek, struct mc_fx_root *out, struct mc_error *err);
void mc_fx_root_clear(struct mc_fx_root *r);

/* A PEM private key (any passphrase-protected key is refused, without a prompt). */
mc_status mc_fx_read_key(OSSL_LIB_CTX *lc, const char *path, const uint8_t *buf, size_t len, EVP_PKEY **out,
                         struct mc_error *err);

#endif
