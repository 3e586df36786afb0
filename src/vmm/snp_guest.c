/* The guest side of SEV-SNP guest messages (memcrypt/snp_guest.h): Linux's sev-guest driver played
 * by a vCPU — VMPCK and sequence numbers in the secrets page, the request sealed into a shared page,
 * VMGEXIT through the GHCB page, the response copied into private memory and checked, the VMPCK
 * wiped after any failure. Every guest access goes down the vCPU's one access path. */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/guest.h>
#include <memcrypt/snp_guest.h>

#include "crypto/crypto.h"
#include "vmm/vm_int.h"

#define PG 4096u

struct mc_snp_guest {
    struct mc_vcpu *v;
    struct mc_snp_guest_config c;
    unsigned vmpck;
    uint64_t exitinfo2;
};

unsigned mc_snp_guest_vmpck(const struct mc_snp_guest *g) { return g ? g->vmpck : 0; }
uint64_t mc_snp_guest_last_exitinfo2(const struct mc_snp_guest *g) { return g ? g->exitinfo2 : 0; }

static mc_status priv_read(struct mc_snp_guest *g, uint64_t gpa, void *b, size_t n, struct mc_error *err)
{
    struct mc_fault f;
    return mc_guest_phys_read(g->v, gpa, true, b, n, &f, err);
}
static mc_status priv_write(struct mc_snp_guest *g, uint64_t gpa, const void *b, size_t n, struct mc_error *err)
{
    struct mc_fault f;
    return mc_guest_phys_write(g->v, gpa, true, b, n, &f, err);
}
static mc_status shared_read(struct mc_snp_guest *g, uint64_t gpa, void *b, size_t n, struct mc_error *err)
{
    struct mc_fault f;
    return mc_guest_phys_read(g->v, gpa, false, b, n, &f, err);
}
static mc_status shared_write(struct mc_snp_guest *g, uint64_t gpa, const void *b, size_t n, struct mc_error *err)
{
    struct mc_fault f;
    return mc_guest_phys_write(g->v, gpa, false, b, n, &f, err);
}

static uint64_t key_gpa(const struct mc_snp_guest *g) { return g->c.secrets_gpa + MC_SNP_SECRETS_VMPCK0 + 32ull * g->vmpck; }
static uint64_t seq_gpa(const struct mc_snp_guest *g) { return g->c.secrets_gpa + MC_SNP_SECRETS_OS_SEQNO + 4ull * g->vmpck; }

/* The VMPCK, or MC_E_STATE when it is all zero (wiped, or never given to this VMPL). */
static mc_status get_key(struct mc_snp_guest *g, uint8_t key[32], struct mc_error *err)
{
    mc_status s = priv_read(g, key_gpa(g), key, 32, err);
    if (s)
        return s;
    static const uint8_t zero[32];
    if (mc_ct_equal(key, zero, 32))
        return mc_seterr(err, MC_E_STATE, "VMPCK%u is empty (wiped after a failed request, or never given)", g->vmpck);
    return MC_OK;
}

bool mc_snp_guest_vmpck_wiped(struct mc_snp_guest *g)
{
    uint8_t k[32];
    bool wiped = get_key(g, k, NULL) == MC_E_STATE;
    mc_wipe(k, sizeof k);
    return wiped;
}

/* Linux's snp_disable_vmpck: the key in the secrets page is zeroed. */
static void wipe_key(struct mc_snp_guest *g)
{
    static const uint8_t zero[32];
    priv_write(g, key_gpa(g), zero, 32, NULL);
}

mc_status mc_snp_guest_create(struct mc_vcpu *v, const struct mc_snp_guest_config *cfg, struct mc_snp_guest **out,
                            struct mc_error *err)
{
    if (!v || !cfg || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_snp_guest_create needs a vCPU, a configuration and an output");
    *out = NULL;
    if (!v->vm->snp)
        return mc_seterr(err, MC_E_INVAL, "guest messages need an SEV-SNP guest");
    int id = cfg->vmpck == MC_SNP_GUEST_VMPCK_OF_VMPL ? (int)mc_lcpu_vmpl(v->cpu) : cfg->vmpck;
    if (id < 0 || id > 3)
        return mc_seterr(err, MC_E_INVAL, "VMPCK %d does not exist (0..3)", id);
    const uint64_t pages[] = {cfg->secrets_gpa, cfg->ghcb_gpa, cfg->req_gpa, cfg->rsp_gpa, cfg->certs_gpa};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
        if (pages[i] & (PG - 1))
            return mc_seterr(err, MC_E_INVAL, "the secrets, GHCB, request, response and certificate pages must be "
                                              "page aligned");
    struct mc_snp_guest *g = calloc(1, sizeof *g);
    if (!g)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    g->v = v;
    g->c = *cfg;
    g->vmpck = (unsigned)id;
    uint8_t k[32];
    mc_status s = get_key(g, k, err);
    mc_wipe(k, sizeof k);
    if (!s) { /* register the GHCB (MSR protocol), as an SNP guest must before using it */
        mc_guest_wrmsr_ghcb(v, cfg->ghcb_gpa | 0x012);
        s = mc_guest_vmgexit(v, err);
        if (!s && mc_guest_rdmsr_ghcb(v) != (cfg->ghcb_gpa | 0x013))
            s = mc_seterr(err, MC_E_VERIFY, "the hypervisor refused the GHCB at 0x%llx",
                          (unsigned long long)cfg->ghcb_gpa);
    }
    if (s) {
        free(g);
        return s;
    }
    *out = g;
    return MC_OK;
}

void mc_snp_guest_destroy(struct mc_snp_guest *g) { free(g); }

/* The GHCB exchange: SW_EXITCODE, EXITINFO1/2 (and RAX/RBX for the extended request) with their
 * valid bits, protocol 2, usage 0; VMGEXIT; SW_EXITINFO2 (and RBX) back. */
static mc_status ghcb_call(struct mc_snp_guest *g, uint64_t code, uint64_t info1, uint64_t info2, bool ext,
                           uint64_t *rbx, uint64_t *out2, struct mc_error *err)
{
    uint8_t *b = calloc(1, PG);
    if (!b)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    const unsigned offs[] = {MC_GHCB_SW_EXITCODE, MC_GHCB_SW_EXITINFO1, MC_GHCB_SW_EXITINFO2, MC_GHCB_RAX, MC_GHCB_RBX};
    const uint64_t vals[] = {code, info1, info2, g->c.certs_gpa, ext ? *rbx : 0};
    for (unsigned i = 0; i < (ext ? 5u : 3u); i++) {
        mc_put_le64(b + offs[i], vals[i]);
        b[MC_GHCB_VALID_BITMAP + offs[i] / 64] |= (uint8_t)(1u << (offs[i] / 8 % 8));
    }
    mc_put_le16(b + MC_GHCB_PROTOCOL, 2);
    mc_status s = shared_write(g, g->c.ghcb_gpa, b, PG, err);
    if (!s) {
        mc_guest_wrmsr_ghcb(g->v, g->c.ghcb_gpa);
        s = mc_guest_vmgexit(g->v, err);
    }
    if (!s)
        s = shared_read(g, g->c.ghcb_gpa, b, PG, err);
    if (!s) {
        *out2 = mc_le64(b + MC_GHCB_SW_EXITINFO2);
        if (mc_le64(b + MC_GHCB_SW_EXITINFO1) & 0xFFFFFFFFu) /* the GHCB itself was refused */
            *out2 = (uint64_t)MC_GHCB_VMM_ERR_GENERIC << 32;
        if (ext)
            *rbx = mc_le64(b + MC_GHCB_RBX);
    }
    free(b);
    return s;
}

/* One request with optional certificate pages. *need_pages set (and MC_E_RANGE) when the host
 * asked for more certificate pages. */
static mc_status do_request(struct mc_snp_guest *g, unsigned type, unsigned version, const uint8_t *payload, size_t n,
                            uint8_t *rsp, size_t cap, size_t *rsp_len, bool ext, uint64_t *npages,
                            struct mc_error *err)
{
    if (!g || (!payload && n) || !rsp || !rsp_len || n > PG - MC_SNP_MSG_HDR_SIZE || version > 0xFF)
        return mc_seterr(err, MC_E_INVAL, "a guest request needs a payload of at most %u bytes and a response buffer",
                         PG - MC_SNP_MSG_HDR_SIZE);
    uint8_t key[32], seqb[4];
    mc_status s = get_key(g, key, err);
    if (!s)
        s = priv_read(g, seq_gpa(g), seqb, 4, err);
    if (s) {
        mc_wipe(key, sizeof key);
        return s;
    }
    uint64_t seq = (uint64_t)mc_le32(seqb) + 1;
    if (seq >= UINT32_MAX) { /* Linux: the counter in the OS area is 32 bits */
        mc_wipe(key, sizeof key);
        return mc_seterr(err, MC_E_STATE, "VMPCK%u's sequence numbers are used up", g->vmpck);
    }
    uint8_t *m = malloc(2 * PG);
    if (!m) {
        mc_wipe(key, sizeof key);
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    }
    uint8_t *msg = m, *plain = m + PG;
    struct mc_snp_msg_hdr h = {.seqno = seq, .msg_type = (uint8_t)type, .msg_version = (uint8_t)version,
                               .msg_vmpck = (uint8_t)g->vmpck};
    size_t len = 0;
    s = mc_snp_msg_seal(key, &h, payload, n, msg, PG, &len, err);
    if (!s) {
        memset(msg + len, 0, PG - len);
        s = shared_write(g, g->c.req_gpa, msg, PG, err);
    }
    uint64_t info2 = 0, rbx = ext ? *npages : 0;
    if (!s && ext && rbx) { /* Linux zeroes the certificate buffer first: pages the host leaves read zero */
        memset(plain, 0, PG);
        for (uint64_t i = 0; !s && i < rbx; i++)
            s = shared_write(g, g->c.certs_gpa + i * PG, plain, PG, err);
    }
    if (!s)
        s = ghcb_call(g, ext ? MC_GHCB_EXIT_EXT_GUEST_REQUEST : MC_GHCB_EXIT_GUEST_REQUEST, g->c.req_gpa, g->c.rsp_gpa,
                      ext, &rbx, &info2, err);
    bool too_small = false;
    if (!s && ext)
        *npages = rbx; /* the pages the host filled (or needs) */
    if (!s && ext && info2 == (uint64_t)MC_GHCB_VMM_ERR_INVALID_LEN << 32) {
        /* Linux: send the same message as a plain request, so the firmware sees this sequence number
         * and the IV is never used for another plaintext. */
        too_small = true;
        s = ghcb_call(g, MC_GHCB_EXIT_GUEST_REQUEST, g->c.req_gpa, g->c.rsp_gpa, false, NULL, &info2, err);
    }
    if (s) { /* a fault or a terminated guest: nothing was answered */
        mc_wipe(key, sizeof key);
        mc_wipe(m, 2 * PG);
        free(m);
        return s;
    }
    g->exitinfo2 = info2;
    /* The hypervisor answered: the counter moves on whatever happens next (Linux). */
    mc_put_le32(seqb, (uint32_t)(seq + 1));
    s = priv_write(g, seq_gpa(g), seqb, 4, err);
    if (!s && info2) {
        wipe_key(g);
        if (info2 >> 32) /* the hypervisor's error (upper half), not a firmware status */
            s = mc_seterr(err, MC_E_VERIFY, "the guest request failed: hypervisor error (SW_EXITINFO2 0x%llx); VMPCK%u "
                          "wiped", (unsigned long long)info2, g->vmpck);
        else
            s = mc_seterr_fw(err, (uint32_t)info2, "the guest request failed: firmware status %s (SW_EXITINFO2 "
                             "0x%llx); VMPCK%u wiped", mc_fw_status_name((uint32_t)info2), (unsigned long long)info2,
                             g->vmpck);
    }
    if (!s) /* a private copy first: the hypervisor may rewrite the shared page at any time */
        s = shared_read(g, g->c.rsp_gpa, msg, PG, err);
    struct mc_snp_msg_hdr rh;
    if (!s) {
        mc_snp_msg_hdr_decode(msg, &rh);
        const char *why = rh.seqno != seq + 1              ? "MSG_SEQNO is not the request's + 1"
                          : rh.msg_type != type + 1        ? "MSG_TYPE does not answer the request"
                          : rh.msg_version != h.msg_version ? "MSG_VERSION differs from the request's"
                          : rh.msg_size > cap              ? "MSG_SZ exceeds the response buffer"
                                                           : NULL;
        struct mc_error e2 = {0};
        if (!why && mc_snp_msg_open(key, msg, PG, &rh, plain, PG, &e2) != MC_OK)
            why = e2.msg;
        if (why) {
            wipe_key(g);
            s = mc_seterr(err, MC_E_VERIFY, "the response does not check: %s; VMPCK%u wiped", why, g->vmpck);
        } else {
            memcpy(rsp, plain, rh.msg_size);
            *rsp_len = rh.msg_size;
        }
    }
    if (!s && too_small)
        s = mc_seterr(err, MC_E_RANGE, "the certificate table needs %llu pages", (unsigned long long)*npages);
    mc_wipe(key, sizeof key);
    mc_wipe(m, 2 * PG);
    free(m);
    return s;
}

mc_status mc_snp_guest_request(struct mc_snp_guest *g, unsigned type, const uint8_t *payload, size_t n, uint8_t *rsp,
                               size_t cap, size_t *rsp_len, struct mc_error *err)
{
    return do_request(g, type, 1, payload, n, rsp, cap, rsp_len, false, NULL, err);
}

static mc_status report(struct mc_snp_guest *g, const uint8_t report_data[64], uint32_t vmpl, uint32_t key_sel,
                        uint8_t rep[MC_SNP_REPORT_SIZE], uint32_t *status, bool ext, uint64_t *npages,
                        struct mc_error *err)
{
    if (!report_data || !rep || !status)
        return mc_seterr(err, MC_E_INVAL, "a report request needs report data, a report buffer and a status");
    struct mc_snp_report_req r = {.vmpl = vmpl, .key_sel = key_sel};
    memcpy(r.report_data, report_data, 64);
    uint8_t p[MC_SNP_REPORT_REQ_SIZE], out[MC_SNP_REPORT_RSP_SIZE];
    mc_snp_report_req_encode(&r, p);
    size_t n = 0;
    mc_status s = do_request(g, MC_SNP_MSG_REPORT_REQ, 1, p, sizeof p, out, sizeof out, &n, ext, npages, err);
    if (s && s != MC_E_RANGE)
        return s;
    mc_status d = n == sizeof out ? mc_snp_report_rsp_decode(out, n, status, rep, err)
                                  : mc_seterr(err, MC_E_FORMAT, "MSG_REPORT_RSP of %zu bytes", n);
    return d ? d : s;
}

mc_status mc_snp_guest_report(struct mc_snp_guest *g, const uint8_t report_data[64], uint32_t vmpl, uint32_t key_sel,
                              uint8_t rep[MC_SNP_REPORT_SIZE], uint32_t *status, struct mc_error *err)
{
    return report(g, report_data, vmpl, key_sel, rep, status, false, NULL, err);
}

mc_status mc_snp_guest_ext_report(struct mc_snp_guest *g, const uint8_t report_data[64], uint32_t vmpl,
                                  uint32_t key_sel, uint8_t rep[MC_SNP_REPORT_SIZE], uint32_t *status,
                                  uint8_t *certs, size_t cap, size_t *certs_len, unsigned *cert_pages,
                                  struct mc_error *err)
{
    if (!g || !certs_len || !cert_pages || (!certs && cap))
        return mc_seterr(err, MC_E_INVAL, "an extended report needs a certificate buffer and its outputs");
    *certs_len = 0;
    uint64_t npages = g->c.certs_pages;
    mc_status s = report(g, report_data, vmpl, key_sel, rep, status, true, &npages, err);
    *cert_pages = (unsigned)npages;
    if (s)
        return s;
    size_t got = (size_t)npages * PG;
    if (got > cap)
        return mc_seterr(err, MC_E_RANGE, "the certificate table (%zu bytes) exceeds the buffer (%zu)", got, cap);
    s = got ? shared_read(g, g->c.certs_gpa, certs, got, err) : MC_OK;
    if (!s)
        *certs_len = got;
    return s;
}

mc_status mc_snp_guest_key(struct mc_snp_guest *g, const struct mc_snp_key_req *req, uint8_t key[32], uint32_t *status,
                           struct mc_error *err)
{
    if (!req || !key || !status)
        return mc_seterr(err, MC_E_INVAL, "a key request needs a request, a key buffer and a status");
    /* 0x28 bytes with LAUNCH_MIT_VECTOR, sent as 0x30: MSG_SZ is a multiple of 16 and the firmware
     * ignores bytes past the structure. */
    uint8_t p[0x30] = {0}, out[MC_SNP_KEY_RSP_SIZE];
    mc_snp_key_req_encode(req, p);
    size_t n = 0;
    bool mit = req->guest_field_select & MC_SNP_GFS_LAUNCH_MIT_VECTOR;
    mc_status s = do_request(g, MC_SNP_MSG_KEY_REQ, 1, p, mit ? sizeof p : MC_SNP_KEY_REQ_SIZE, out, sizeof out, &n, false,
                             NULL, err);
    if (s)
        return s;
    if (n != sizeof out)
        return mc_seterr(err, MC_E_FORMAT, "MSG_KEY_RSP of %zu bytes", n);
    *status = mc_le32(out);
    if (*status == 0)
        memcpy(key, out + 0x20, 32);
    mc_wipe(out, sizeof out);
    return MC_OK;
}

mc_status mc_snp_guest_request_raw(struct mc_snp_guest *g, unsigned type, unsigned version, const uint8_t *payload,
                                   size_t n, bool ext, uint64_t *npages, uint8_t *rsp, size_t cap, size_t *rsp_len,
                                   struct mc_error *err)
{
    if (g && ext && (!npages || *npages > g->c.certs_pages))
        return mc_seterr(err, MC_E_INVAL, "an extended request offers at most the %u certificate pages the guest has",
                         g->c.certs_pages);
    return do_request(g, type, version, payload, n, rsp, cap, rsp_len, ext, npages, err);
}

mc_status mc_snp_guest_read_certs(struct mc_snp_guest *g, uint8_t *buf, size_t len, struct mc_error *err)
{
    if (!g || (!buf && len) || len > (size_t)g->c.certs_pages * PG)
        return mc_seterr(err, MC_E_INVAL, "the certificate pages hold at most %u pages", g ? g->c.certs_pages : 0);
    return len ? shared_read(g, g->c.certs_gpa, buf, len, err) : MC_OK;
}
