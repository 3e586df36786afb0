/* memcrypt — a local AMD Key Distribution Service: what kdsintf.amd.com answers, for the
 * emulated chip (and a folder of real AMD certificates as an offline cache).
 *
 * The request router is here (no HTTP: `memcrypt kds serve` puts libmicrohttpd in front of it),
 * so every answer can be tested and fuzzed without a socket. Routes, in AMD's URL layout:
 *
 *   GET /vcek/v1/{product}/{hwid}?blSPL=&teeSPL=&snpSPL=&ucodeSPL=[&fmcSPL=]  VCEK (DER)
 *   GET /vcek/v1/{product}/cert_chain, /vlek/v1/{product}/cert_chain         ASK|ASVK then ARK (PEM)
 *   GET /vcek/v1/{product}/crl, /vlek/v1/{product}/crl                        the ARK's CRL (DER)
 *   GET /cek/id/{GET_ID hex}                                                  legacy SEV: ASK-signed CEK
 *   GET /developer/eula/sev/ask_ark_{platform}.cert (and the older             legacy SEV: ASK || ARK
 *       /wp-content/resources/ask_ark_{platform}.cert)
 *
 * Every request is untrusted: an unknown path or product, a hwID or GET_ID of another chip, a
 * missing/unknown/duplicate/non-decimal/out-of-range SPL, an over-long path or query: a 4xx
 * with a one-line text body; nothing is ever changed. docs/kernel-interfaces.md has the table.
 *
 * Why public: a test harness can answer KDS requests in process, without a socket, for its own
 * HTTP front end or fetch code (`memcrypt kds serve` is one such front end).
 */
#ifndef MEMCRYPT_KDS_SITE_H
#define MEMCRYPT_KDS_SITE_H

#include <memcrypt/api.h>

#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

MC_BEGIN_DECLS

struct mc_snp_identity;
struct mc_sev_identity;

struct mc_kds_site {
    struct mc_snp_identity *snp;       /* the emulated chip's SNP identity (borrowed), or NULL */
    const struct mc_sev_identity *sev; /* its legacy SEV identity (borrowed), or NULL */
    const char *sev_generation;        /* legacy: "naples", "rome", "milan", ... (ask_ark file) */
    const char *cache_dir;             /* real AMD certificates (layout in the doc), or NULL */
};

struct mc_kds_arg {
    const char *name, *value;
};

struct mc_kds_reply {
    unsigned status;  /* HTTP status */
    const char *type; /* Content-Type */
    uint8_t *body;    /* malloc'd; mc_kds_reply_free */
    size_t len;
};

#define MC_KDS_PATH_MAX 512u /* longer paths: 414 */
#define MC_KDS_ARGS_MAX 8u   /* more query arguments: 400 */

/* Answer one request. MC_OK with a reply for every request (errors are 4xx replies);
 * MC_E_NOMEM (or MC_E_CRYPTO) only when the server itself cannot build an answer. */
MC_API mc_status mc_kds_answer(struct mc_kds_site *site, const char *method, const char *path,
                        const struct mc_kds_arg *args, size_t nargs, struct mc_kds_reply *out, struct mc_error *err);
MC_API void mc_kds_reply_free(struct mc_kds_reply *r);

MC_END_DECLS

#endif
