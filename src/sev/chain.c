/* memcrypt — the whole legacy SEV chain PDH <- PEK <- OCA/CEK <- ASK <- ARK, shared by
 * `certs verify` and `owner session` (see sev_cert.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <memcrypt/sev_cert.h>

static void link_add(struct mc_sev_chain_result *r, const char *name, mc_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void link_add(struct mc_sev_chain_result *r, const char *name, mc_status st, const char *fmt, ...)
{
    if (r->n >= MC_SEV_CHAIN_MAX_LINKS)
        return;
    struct mc_sev_chain_link *l = &r->links[r->n++];
    l->name = name;
    l->ok = st == MC_OK;
    l->reason[0] = 0;
    if (st != MC_OK && fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->reason, sizeof l->reason, fmt, ap);
        va_end(ap);
    }
}

static void check(struct mc_sev_chain_result *r, const char *name, mc_status st, const struct mc_error *e)
{
    link_add(r, name, st, "%s", e->msg);
}

/* The built-in copy of generation gen's ARK or ASK. */
static mc_status builtin(const char *gen, bool ask, struct mc_amd_cert *out)
{
    size_t n;
    const struct mc_sev_root *roots = mc_sev_roots(&n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(roots[i].name, gen))
            return ask ? mc_amd_cert_parse(roots[i].ask, roots[i].ask_len, out, NULL)
                       : mc_amd_cert_parse(roots[i].ark, roots[i].ark_len, out, NULL);
    return MC_E_NOTFOUND;
}

void mc_sev_chain_verify(const struct mc_sev_cert *pdh, const struct mc_sev_cert *pek, const struct mc_sev_cert *oca,
                         const struct mc_sev_cert *cek, const struct mc_amd_cert *ask_in,
                         const struct mc_amd_cert *ark_in, bool allow_emulated, struct mc_sev_chain_result *r)
{
    struct mc_error e;
    memset(r, 0, sizeof *r);
    mc_clearerr(&e);
    if (pdh && pek)
        check(r, "PDH <- PEK", mc_sev_cert_verify(pdh, pek, &e), &e);
    if (pek && oca)
        check(r, "PEK <- OCA", mc_sev_cert_verify(pek, oca, &e), &e);
    if (pek && cek)
        check(r, "PEK <- CEK", mc_sev_cert_verify(pek, cek, &e), &e);
    if (oca)
        check(r, "OCA <- OCA", mc_sev_cert_verify(oca, oca, &e), &e);
    if (ask_in || ark_in) {
        struct mc_amd_cert ark, ask;
        bool have_ark = ark_in != NULL, have_ask = ask_in != NULL;
        if (have_ark)
            ark = *ark_in;
        if (have_ask)
            ask = *ask_in;
        /* An unsigned ARK (AMD distributes the Naples ARK as 576 bytes without signature) is AMD's
         * root when its body equals a built-in one; the built-in copy, signature included, stands
         * in for it. */
        const char *unsigned_gen = NULL;
        if (have_ark && ark.sig_len == 0 && (unsigned_gen = mc_sev_root_match_body(&ark)))
            have_ark = builtin(unsigned_gen, false, &ark) == MC_OK;
        if (have_ark)
            check(r, "ARK <- ARK", mc_amd_cert_verify(&ark, &ark, &e), &e);
        if (have_ark && have_ask)
            check(r, "ASK <- ARK", mc_amd_cert_verify(&ask, &ark, &e), &e);
        if (have_ask && cek)
            check(r, "CEK <- ASK", mc_sev_cert_verify_by_ask(cek, &ask, &e), &e);
        if (have_ark) {
            r->root_gen = mc_sev_root_match_ark(&ark);
            r->emulated_root = mc_amd_cert_is_emulated(&ark);
            if (r->root_gen && unsigned_gen) {
                r->root_ok = true;
                snprintf(r->root_desc, sizeof r->root_desc,
                         "AMD %s ARK: the given copy is unsigned (576 bytes as AMD distributes it), its body equals "
                         "the built-in root, whose signature verifies",
                         r->root_gen);
            } else if (r->root_gen) {
                r->root_ok = true;
                snprintf(r->root_desc, sizeof r->root_desc, "AMD %s ARK (matches the built-in root)", r->root_gen);
            } else if (r->emulated_root && allow_emulated) {
                r->root_ok = true;
                snprintf(r->root_desc, sizeof r->root_desc, "EMULATED memcrypt ARK (accepted: --allow-emulated-root)");
            } else if (r->emulated_root) {
                snprintf(r->root_desc, sizeof r->root_desc,
                         "the root is memcrypt's EMULATED ARK, not AMD's (pass --allow-emulated-root to accept it)");
            } else {
                snprintf(r->root_desc, sizeof r->root_desc, "the ARK is not one of AMD's built-in roots");
            }
        } else {
            snprintf(r->root_desc, sizeof r->root_desc, "no usable ARK");
        }
        link_add(r, "root", r->root_ok ? MC_OK : MC_E_VERIFY, "%s", r->root_desc);
    } else if (cek) {
        size_t n;
        const struct mc_sev_root *roots = mc_sev_roots(&n);
        for (size_t i = 0; i < n && !r->root_gen; i++) {
            struct mc_amd_cert ark, ask;
            if (mc_amd_cert_parse(roots[i].ark, roots[i].ark_len, &ark, NULL) != MC_OK ||
                mc_amd_cert_parse(roots[i].ask, roots[i].ask_len, &ask, NULL) != MC_OK ||
                mc_sev_cert_verify_by_ask(cek, &ask, NULL) != MC_OK)
                continue;
            r->root_gen = roots[i].name;
            link_add(r, "CEK <- ASK", MC_OK, NULL);
            check(r, "ASK <- ARK", mc_amd_cert_verify(&ask, &ark, &e), &e);
            check(r, "ARK <- ARK", mc_amd_cert_verify(&ark, &ark, &e), &e);
        }
        if (r->root_gen) {
            r->root_ok = true;
            snprintf(r->root_desc, sizeof r->root_desc, "built-in AMD %s ARK/ASK", r->root_gen);
        } else {
            bool signed_cek = mc_sev_cert_slot_used(cek, 0) || mc_sev_cert_slot_used(cek, 1);
            snprintf(r->root_desc, sizeof r->root_desc, "%s",
                     signed_cek ? "the CEK is not signed by any built-in AMD ASK (naples, rome, milan, genoa, turin)"
                                : "the CEK is unsigned (get the ASK-signed CEK from AMD's key server)");
            link_add(r, "CEK <- ASK", MC_E_VERIFY, "%s", r->root_desc);
        }
    }
    r->ok = r->n > 0 && pdh && pek && oca && cek;
    for (int i = 0; i < r->n; i++)
        r->ok &= r->links[i].ok;
}
