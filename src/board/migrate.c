/* memcrypt — live migration of SEV / SEV-ES guests between boards (memcrypt/migrate.h): the
 * hypervisors' part, as QEMU and KVM play it around the firmware's SEND_* / RECEIVE_*. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/migrate.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/sev_identity.h>

#include <memcrypt/dram.h>
#include <memcrypt/psp.h>
#include <memcrypt/rmp.h>

#include "crypto/crypto.h"
#include "vmm/vmm_host.h"

#define PAGE 4096ull
#define O_VERSION 0x08
#define O_KIND 0x0C
#define O_HLEN 0x10
#define O_POLICY 0x14
#define O_MEM 0x18
#define O_VCPUS 0x20
#define O_FLAGS 0x24
#define O_PDH 0x28
#define O_SESSION 0x84C
#define O_PT_GPA 0x8CC
#define O_PT_LEN 0x8D4
#define O_PT_NEXT 0x8DC
#define O_PT_END 0x8E4
#define F_EXT 1u
#define MAX_MEM (1ull << 40) /* 1 TiB: more than any board this project builds */
_Static_assert(O_SESSION == O_PDH + 0x824, "session follows the PDH");
_Static_assert(O_PT_GPA == O_SESSION + 0x80, "guest state follows the session");
_Static_assert(O_PT_END <= MC_MIGRATE_HDR_FIXED, "fixed header");

/* ---- in-memory stream ---------------------------------------------------------------------- */

mc_status mc_migrate_buf_write(void *ctx, const void *buf, size_t len, struct mc_error *err)
{
    struct mc_migrate_buf *b = ctx;
    if (len > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap - b->len < len)
            cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d)
            return mc_seterr(err, MC_E_NOMEM, "out of memory for the migration stream");
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, buf, len);
    b->len += len;
    return MC_OK;
}

mc_status mc_migrate_buf_read(void *ctx, void *buf, size_t len, struct mc_error *err)
{
    struct mc_migrate_buf *b = ctx;
    if (len > b->len - b->pos)
        return mc_seterr(err, MC_E_FORMAT, "the migration stream is truncated at byte %zu", b->len);
    memcpy(buf, b->data + b->pos, len);
    b->pos += len;
    return MC_OK;
}

void mc_migrate_buf_free(struct mc_migrate_buf *b)
{
    if (b) {
        free(b->data);
        memset(b, 0, sizeof *b);
    }
}

/* ---- the target's certificates --------------------------------------------------------------- */

mc_status mc_migrate_target_info(struct mc_board *dst, struct mc_migrate_target *t, struct mc_error *err)
{
    struct mc_vmm *vmm = mc_board_vmm(dst);
    if (!vmm || !t)
        return mc_seterr(err, MC_E_INVAL, "the target needs a board with firmware and hypervisor");
    memset(t, 0, sizeof *t);
    uint64_t pa;
    mc_status s = mc_vmm_alloc(vmm, 0x824 + 0x186C, &pa, err);
    if (s)
        return s;
    uint8_t b[sizeof(struct mc_sev_pdh_cert_export)] = {0};
    mc_put_le64(b + offsetof(struct mc_sev_pdh_cert_export, pdh_paddr), pa);
    mc_put_le32(b + offsetof(struct mc_sev_pdh_cert_export, pdh_len), 0x824);
    mc_put_le64(b + offsetof(struct mc_sev_pdh_cert_export, chain_paddr), pa + 0x824);
    mc_put_le32(b + offsetof(struct mc_sev_pdh_cert_export, chain_len), 0x186C);
    struct mc_fault f;
    struct mc_machine *m = mc_board_machine(dst);
    if ((s = mc_board_fw(dst, MC_SEV_CMD_PDH_CERT_EXPORT, b, sizeof b, NULL, err)) ||
        (s = mc_machine_phys_read(m, pa, t->pdh, 0x824, &f, err)) ||
        (s = mc_machine_phys_read(m, pa + 0x824, t->chain, 0x186C, &f, err)))
        return s;
    /* The exported CEK is unsigned; the signed one and the AMD chain come from AMD's key server,
     * which for an emulated chip is the chip's own identity. */
    const struct mc_sev_identity *id = mc_psp_identity(mc_board_psp(dst), err);
    size_t n = 0, ask = 0, ark = 0;
    if (!id || (s = mc_sev_identity_cert(id, MC_SEV_ID_CEK, t->chain + 2 * 0x824, 0x824, &n, err)) ||
        (s = mc_sev_identity_cert(id, MC_SEV_ID_ASK, t->amd, sizeof t->amd, &ask, err)) ||
        (s = mc_sev_identity_cert(id, MC_SEV_ID_ARK, t->amd + ask, sizeof t->amd - ask, &ark, err)))
        return id ? s : MC_E_STATE;
    t->amd_len = ask + ark;
    return MC_OK;
}

/* ---- the receiving hypervisor ---------------------------------------------------------------- */

struct rx {
    struct mc_board *dst;
    struct mc_vm *vm;
    uint32_t flags, nvcpu, records;
    bool ended;
    struct mc_vm_guest_state gs;
    struct mc_migrate_stats *stats;
};

static mc_status bad(struct mc_error *err, const char *what)
{
    return mc_seterr(err, MC_E_FORMAT, "the migration stream is invalid: %s", what);
}

/* Check the header (hlen bytes) and start the guest (RECEIVE_START + ACTIVATE). */
static mc_status rx_header(struct rx *x, const uint8_t *h, size_t hlen, struct mc_error *err)
{
    if (hlen < MC_MIGRATE_HDR_FIXED || memcmp(h, MC_MIGRATE_MAGIC, 8) != 0)
        return bad(err, "not a memcrypt migration stream (magic)");
    if (mc_le32(h + O_VERSION) != MC_MIGRATE_VERSION)
        return mc_seterr(err, MC_E_FORMAT, "the migration stream is version %u; this memcrypt reads version %u",
                         mc_le32(h + O_VERSION), MC_MIGRATE_VERSION);
    uint32_t kind = mc_le32(h + O_KIND), policy = mc_le32(h + O_POLICY), nv = mc_le32(h + O_VCPUS);
    uint64_t mem = mc_le64(h + O_MEM);
    if (kind != MC_MIGRATE_KIND_SEV && kind != MC_MIGRATE_KIND_SEV_ES)
        return mc_seterr(err, MC_E_FORMAT, "the migration stream holds a guest of kind %u (1 SEV, 2 SEV-ES)", kind);
    if ((kind == MC_MIGRATE_KIND_SEV_ES) != ((policy & MC_SEV_POLICY_ES) != 0))
        return bad(err, "the guest kind and the policy's ES bit disagree");
    if (nv == 0 || nv > 64)
        return bad(err, "the vCPU count is outside 1..64");
    if (mc_le32(h + O_HLEN) != MC_MIGRATE_HDR_FIXED + 32 * nv || hlen != MC_MIGRATE_HDR_FIXED + 32 * nv)
        return bad(err, "the header length does not match the vCPU count");
    if (mem == 0 || (mem & ((2ull << 20) - 1)) || mem > MAX_MEM)
        return bad(err, "the guest memory size is not a multiple of 2 MiB up to 1 TiB");
    if (mc_le32(h + O_FLAGS) & ~F_EXT)
        return bad(err, "unknown flags");
    for (size_t i = O_PT_END; i < MC_MIGRATE_HDR_FIXED; i++)
        if (h[i])
            return bad(err, "reserved header bytes are not zero");
    x->flags = mc_le32(h + O_FLAGS);
    x->nvcpu = nv;
    memset(&x->gs, 0, sizeof x->gs);
    x->gs.pt_pool_gpa = mc_le64(h + O_PT_GPA);
    x->gs.pt_pool_len = mc_le64(h + O_PT_LEN);
    x->gs.pt_next = mc_le64(h + O_PT_NEXT);
    for (uint32_t i = 0; i < nv; i++) {
        const uint8_t *r = h + MC_MIGRATE_HDR_FIXED + 32 * i;
        x->gs.regs[i] = (struct mc_paging_regs){mc_le64(r), mc_le64(r + 8), mc_le64(r + 16), mc_le64(r + 24)};
    }
    struct mc_vmm *vmm = mc_board_vmm(x->dst);
    if (!vmm)
        return mc_seterr(err, MC_E_INVAL, "the target board has no hypervisor");
    struct mc_vm_config vc = {.vcpus = nv, .mem_size = mem, .policy = policy, .godh = h + O_PDH,
                              .session = h + O_SESSION, .receive = true};
    uint32_t fs = 0;
    mc_status s = mc_vm_create(vmm, &vc, &x->vm, &fs, err);
    if (x->stats)
        x->stats->last_fw_status = fs;
    return s;
}

static mc_status rx_record(struct rx *x, uint32_t type, uint32_t hlen, uint64_t where, uint32_t len,
                           const uint8_t *hdr, const uint8_t *payload, struct mc_error *err)
{
    if (x->ended)
        return bad(err, "records follow the END record");
    uint32_t want_hlen = (x->flags & F_EXT) ? MC_SEV_PKT_HDR_EXT_LEN : MC_SEV_PKT_HDR_LEN;
    mc_status s = MC_OK;
    switch (type) {
    case MC_MIGRATE_REC_DATA:
    case MC_MIGRATE_REC_VMSA:
        if (hlen != want_hlen)
            return bad(err, "a packet header has the wrong length");
        /* The extended header binds where the sender took the packet from (its MAC chain covers
         * it); the record must agree, so the page lands where it came from. */
        if ((x->flags & F_EXT) && mc_le64(hdr + offsetof(struct mc_sev_packet_hdr_ext, where)) != where)
            return bad(err, "a record's address differs from its packet's");
        s = mc_vm_receive_update(x->vm, type == MC_MIGRATE_REC_VMSA, where, hdr, hlen, payload, len, err);
        if (x->stats) {
            x->stats->last_fw_status = mc_vm_last_fw_status(x->vm);
            x->stats->packets += s == MC_OK;
            x->stats->bytes += s == MC_OK ? len : 0;
        }
        break;
    case MC_MIGRATE_REC_SHARED:
        if (hlen || (where & (PAGE - 1)) || len == 0 || (len & (PAGE - 1)) || where >= mc_vm_mem_size(x->vm) ||
            len > mc_vm_mem_size(x->vm) - where)
            return bad(err, "a shared-page record lies outside guest memory or is not whole pages");
        s = mc_vm_host_write(x->vm, where, payload, len, err);
        if (!s && x->stats)
            x->stats->shared_bytes += len;
        break;
    case MC_MIGRATE_REC_END:
        if (hlen || len || where != x->records)
            return bad(err, "the END record does not count the records before it");
        x->ended = true;
        if ((s = mc_vm_receive_finish(x->vm, err)) == MC_OK)
            s = mc_vm_set_guest_state(x->vm, &x->gs, err);
        if (x->stats)
            x->stats->last_fw_status = mc_vm_last_fw_status(x->vm);
        break;
    default:
        return mc_seterr(err, MC_E_FORMAT, "the migration stream has a record of unknown type %u", type);
    }
    x->records++;
    return s;
}

static void rx_abort(struct rx *x)
{
    mc_vm_destroy(x->vm); /* never RUNNING: DEACTIVATE + DECOMMISSION */
    x->vm = NULL;
}

/* ---- the sending hypervisor ----------------------------------------------------------------- */

/* In one process the two platforms work side by side, as two hosts do: the receiving hypervisor
 * runs in a thread of its own and takes the records from a ring the sender fills. The receiver
 * touches only the target board, the sender only the source. The END record is a rendezvous: the
 * sender learns the target's verdict (RECEIVE_FINISH) before it sends SEND_FINISH, so a refusal
 * still lets it cancel and keep the guest. */
#define RING 32
#define REC_HEADER 0u /* the stream header, in the ring as a record of its own */
struct ring_slot {
    uint32_t type, hlen, len;
    uint64_t where;
    uint8_t hdr[MC_SEV_PKT_HDR_EXT_LEN];
    uint8_t *payload; /* MC_SEV_TRANSFER_MAX bytes, or the stream header */
};
struct pipe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ring_slot s[RING];
    unsigned head, tail;     /* consumed / produced */
    bool tx_done, rx_stop, end_seen;
    mc_status rx_st;
    struct mc_error rx_err;
    struct rx *rx;
};

static void *rx_thread(void *arg)
{
    struct pipe *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->head == p->tail && !p->tx_done)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->head == p->tail)
            break; /* the sender is done (or gave up) */
        struct ring_slot *r = &p->s[p->head % RING];
        pthread_mutex_unlock(&p->mu);
        mc_status st = r->type == REC_HEADER
                           ? rx_header(p->rx, r->payload, r->len, &p->rx_err)
                           : rx_record(p->rx, r->type, r->hlen, r->where, r->len, r->hdr, r->payload, &p->rx_err);
        pthread_mutex_lock(&p->mu);
        bool was_full = p->tail - p->head == RING; /* the sender may be waiting for this slot */
        p->head++;
        if (r->type == MC_MIGRATE_REC_END)
            p->end_seen = true;
        if (st) {
            p->rx_st = st;
            p->rx_stop = true;
        }
        if (was_full || p->end_seen || p->rx_stop)
            pthread_cond_broadcast(&p->cv);
        if (p->rx_stop || p->end_seen)
            break;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* The slot the next record goes into (the sender may build its packet there directly); waits
 * while the ring is full. A receiver that stopped makes the sender stop with its reason. */
static mc_status pipe_reserve(struct pipe *p, struct ring_slot **out, struct mc_error *err)
{
    pthread_mutex_lock(&p->mu);
    while (p->tail - p->head == RING && !p->rx_stop)
        pthread_cond_wait(&p->cv, &p->mu);
    mc_status st = MC_OK;
    if (p->rx_stop) {
        if (err)
            *err = p->rx_err;
        st = p->rx_st;
    }
    *out = &p->s[p->tail % RING]; /* only the sender fills slots: it stays free until put */
    pthread_mutex_unlock(&p->mu);
    return st;
}

/* Hand a record to the receiver (its header and payload copied into the slot unless they were
 * built there); for END wait for its verdict. The receiver is woken only when it may be waiting
 * (the ring was empty), not once per record. */
static mc_status pipe_put(struct pipe *p, uint32_t type, uint32_t hlen, uint64_t where, uint32_t len,
                          const uint8_t *hdr, const uint8_t *payload, struct mc_error *err)
{
    struct ring_slot *r;
    mc_status st = pipe_reserve(p, &r, err);
    if (st)
        return st;
    r->type = type;
    r->hlen = hlen;
    r->where = where;
    r->len = len;
    if (hlen && hdr != r->hdr)
        memcpy(r->hdr, hdr, hlen);
    if (len && payload != r->payload)
        memcpy(r->payload, payload, len);
    pthread_mutex_lock(&p->mu);
    bool was_empty = p->head == p->tail;
    p->tail++;
    if (was_empty || type == MC_MIGRATE_REC_END)
        pthread_cond_broadcast(&p->cv);
    if (type == MC_MIGRATE_REC_END) {
        while (!p->end_seen && !p->rx_stop)
            pthread_cond_wait(&p->cv, &p->mu);
    }
    if (p->rx_stop) {
        if (err)
            *err = p->rx_err;
        st = p->rx_st;
    }
    pthread_mutex_unlock(&p->mu);
    return st;
}

/* Where the stream goes: a writer, or a receiver in this process. */
struct sink {
    mc_migrate_write_fn w;
    void *wctx;
    struct pipe *pipe;
};

/* Where the next packet is built: the receiver's next ring slot (no copy on the way), or the
 * sender's own buffers for a writer. */
static mc_status sink_buffers(struct sink *k, uint8_t **hdr, uint8_t **buf, struct mc_error *err)
{
    if (!k->pipe)
        return MC_OK;
    struct ring_slot *r;
    mc_status s = pipe_reserve(k->pipe, &r, err);
    if (!s) {
        *hdr = r->hdr;
        *buf = r->payload;
    }
    return s;
}

static mc_status sink_header(struct sink *k, const uint8_t *h, size_t n, struct mc_error *err)
{
    return k->pipe ? pipe_put(k->pipe, REC_HEADER, 0, 0, (uint32_t)n, NULL, h, err) : k->w(k->wctx, h, n, err);
}

static mc_status sink_record(struct sink *k, uint32_t type, uint32_t hlen, uint64_t where, uint32_t len,
                             const uint8_t *hdr, const uint8_t *payload, struct mc_error *err)
{
    if (k->pipe)
        return pipe_put(k->pipe, type, hlen, where, len, hdr, payload, err);
    uint8_t r[MC_MIGRATE_REC_HDR];
    mc_put_le32(r, type);
    mc_put_le32(r + 4, hlen);
    mc_put_le64(r + 8, where);
    mc_put_le32(r + 16, len);
    mc_status s = k->w(k->wctx, r, sizeof r, err);
    if (!s && hlen)
        s = k->w(k->wctx, hdr, hlen, err);
    if (!s && len)
        s = k->w(k->wctx, payload, len, err);
    return s;
}

static bool is_shared(const struct mc_migrate_opts *o, uint64_t gpa)
{
    for (size_t i = 0; i < o->nshared; i++)
        if (gpa >= o->shared[i][0] && gpa - o->shared[i][0] < o->shared[i][1])
            return true;
    return false;
}

/* Walk guest RAM: SHARED pages one by one, private runs in packets of at most chunk bytes, then
 * (SEV-ES) the VMSAs. With k NULL only counts firmware packets into *npk. */
static mc_status send_pages(struct mc_vm *vm, const struct mc_migrate_opts *o, uint32_t chunk, bool ext,
                            struct sink *k, uint64_t npk_total, uint64_t *npk, uint8_t *hdr, uint8_t *buf,
                            uint32_t *records, struct mc_migrate_stats *st, struct mc_error *err)
{
    uint64_t mem = mc_vm_mem_size(vm), n = 0;
    mc_status s = MC_OK;
    uint32_t hlen = ext ? MC_SEV_PKT_HDR_EXT_LEN : MC_SEV_PKT_HDR_LEN;
    for (uint64_t gpa = 0; !s && gpa < mem;) {
        if (is_shared(o, gpa)) {
            if (k && !(s = mc_vm_host_read(vm, gpa, buf, PAGE, err))) {
                s = sink_record(k, MC_MIGRATE_REC_SHARED, 0, gpa, PAGE, NULL, buf, err);
                ++*records;
                if (st)
                    st->shared_bytes += PAGE;
            }
            gpa += PAGE;
            continue;
        }
        uint64_t end = gpa;
        while (end < mem && end - gpa < chunk && !is_shared(o, end))
            end += PAGE < chunk - (end - gpa) ? PAGE : chunk - (end - gpa);
        uint32_t len = (uint32_t)(end - gpa);
        if (k) {
            uint8_t *ph = hdr, *pb = buf;
            s = sink_buffers(k, &ph, &pb, err);
            if (!s)
                s = mc_vm_send_update(vm, false, gpa, len, ext, n + 1 == npk_total, ph, pb, err);
            if (!s)
                s = sink_record(k, MC_MIGRATE_REC_DATA, hlen, gpa, len, ph, pb, err);
            ++*records;
            if (st && !s) {
                st->packets++;
                st->bytes += len;
            }
        }
        n++;
        gpa = end;
    }
    for (unsigned i = 0; !s && i < mc_vm_vcpus(vm); i++) {
        if (!mc_vm_has_vmsa(vm, i))
            continue;
        if (k) {
            s = mc_vm_send_update(vm, true, i, 4096, ext, n + 1 == npk_total, hdr, buf, err);
            if (!s)
                s = sink_record(k, MC_MIGRATE_REC_VMSA, hlen, i, 4096, hdr, buf, err);
            ++*records;
            if (st && !s) {
                st->packets++;
                st->bytes += 4096;
            }
        }
        n++;
    }
    *npk = n;
    return s;
}

static mc_status pdh_export(struct mc_board *b, uint8_t pdh[0x824], struct mc_error *err)
{
    struct mc_migrate_target t;
    mc_status s = mc_migrate_target_info(b, &t, err); /* the same export, from the source */
    if (!s)
        memcpy(pdh, t.pdh, 0x824);
    return s;
}

static mc_status do_send(struct mc_board *src, struct mc_vm **vmp, const struct mc_migrate_target *t,
                         const struct mc_migrate_opts *o, struct sink *k, struct mc_migrate_stats *st,
                         struct mc_error *err)
{
    static const struct mc_migrate_opts none = {0};
    if (!o)
        o = &none;
    if (!src || !vmp || !*vmp || !t)
        return mc_seterr(err, MC_E_INVAL, "migration needs a source board, a guest and a target");
    uint32_t chunk = o->chunk ? o->chunk : (uint32_t)PAGE;
    if (chunk < 16 || chunk > MC_SEV_TRANSFER_MAX || (chunk & 15))
        return mc_seterr(err, MC_E_INVAL, "the packet size %u is not a multiple of 16 in 16..0x5000", chunk);
    for (size_t i = 0; i < o->nshared; i++)
        if ((o->shared[i][0] | o->shared[i][1]) & (PAGE - 1))
            return mc_seterr(err, MC_E_INVAL, "shared ranges must be whole 4 KiB pages");
    struct mc_vm *vm = *vmp;
    bool ext = !o->spec_headers;
    uint32_t nv = mc_vm_vcpus(vm), hlen = MC_MIGRATE_HDR_FIXED + 32 * nv;
    uint8_t *h = calloc(1, hlen), *hdr = malloc(MC_SEV_PKT_HDR_EXT_LEN), *buf = malloc(MC_SEV_TRANSFER_MAX);
    mc_status s = h && hdr && buf ? MC_OK : mc_seterr(err, MC_E_NOMEM, "out of memory");
    if (!s)
        s = pdh_export(src, h + O_PDH, err);
    if (!s) {
        s = mc_vm_send_start(vm, t->pdh, t->chain, t->amd, t->amd_len, h + O_SESSION, err);
        if (st)
            st->last_fw_status = mc_vm_last_fw_status(vm);
        if (s) {
            free(h);
            free(hdr);
            free(buf);
            return s; /* the guest was not touched: it runs on */
        }
    }
    if (!s) {
        uint32_t policy = mc_vm_policy(vm);
        struct mc_vm_guest_state gs;
        mc_vm_get_guest_state(vm, &gs);
        memcpy(h, MC_MIGRATE_MAGIC, 8);
        mc_put_le32(h + O_VERSION, MC_MIGRATE_VERSION);
        mc_put_le32(h + O_KIND, (policy & MC_SEV_POLICY_ES) ? MC_MIGRATE_KIND_SEV_ES : MC_MIGRATE_KIND_SEV);
        mc_put_le32(h + O_HLEN, hlen);
        mc_put_le32(h + O_POLICY, policy);
        mc_put_le64(h + O_MEM, mc_vm_mem_size(vm));
        mc_put_le32(h + O_VCPUS, nv);
        mc_put_le32(h + O_FLAGS, ext ? F_EXT : 0);
        mc_put_le64(h + O_PT_GPA, gs.pt_pool_gpa);
        mc_put_le64(h + O_PT_LEN, gs.pt_pool_len);
        mc_put_le64(h + O_PT_NEXT, gs.pt_next);
        for (uint32_t i = 0; i < nv; i++) {
            uint8_t *r = h + MC_MIGRATE_HDR_FIXED + 32 * i;
            mc_put_le64(r, gs.regs[i].cr0);
            mc_put_le64(r + 8, gs.regs[i].cr3);
            mc_put_le64(r + 16, gs.regs[i].cr4);
            mc_put_le64(r + 24, gs.regs[i].efer);
        }
        s = sink_header(k, h, hlen, err);
    }
    uint64_t total = 0, n = 0;
    uint32_t records = 0;
    if (!s)
        s = send_pages(vm, o, chunk, ext, NULL, 0, &total, NULL, NULL, &records, NULL, err);
    if (!s)
        s = send_pages(vm, o, chunk, ext, k, total, &n, hdr, buf, &records, st, err);
    /* END before SEND_FINISH: a receiver in this process that refuses the stream leaves the
     * source in SUPDATE, so SEND_CANCEL gives the guest back. */
    if (!s)
        s = sink_record(k, MC_MIGRATE_REC_END, 0, records, 0, NULL, NULL, err);
    if (!s)
        s = mc_vm_send_finish(vm, err);
    if (st)
        st->last_fw_status = mc_vm_last_fw_status(vm);
    free(h);
    free(hdr);
    free(buf);
    if (s) {
        struct mc_error ignore;
        mc_vm_send_cancel(vm, &ignore); /* refused by the firmware once SENT; otherwise the guest runs on */
        return s;
    }
    mc_vm_destroy(vm); /* SENT: DEACTIVATE + DECOMMISSION; the source guest is gone */
    *vmp = NULL;
    return MC_OK;
}

mc_status mc_migrate_send(struct mc_board *src, struct mc_vm **vm, const struct mc_migrate_target *t,
                          const struct mc_migrate_opts *o, mc_migrate_write_fn w, void *wctx,
                          struct mc_migrate_stats *stats, struct mc_error *err)
{
    if (!w)
        return mc_seterr(err, MC_E_INVAL, "migration needs a stream writer");
    if (stats)
        memset(stats, 0, sizeof *stats);
    struct sink k = {w, wctx, NULL};
    return do_send(src, vm, t, o, &k, stats, err);
}

mc_status mc_migrate_receive(struct mc_board *dst, mc_migrate_read_fn r, void *rctx, struct mc_vm **out,
                             struct mc_migrate_stats *stats, struct mc_error *err)
{
    if (!dst || !r || !out)
        return mc_seterr(err, MC_E_INVAL, "receiving needs a board, a stream and a place for the guest");
    *out = NULL;
    if (stats)
        memset(stats, 0, sizeof *stats);
    struct rx x = {.dst = dst, .stats = stats};
    uint8_t fixed[MC_MIGRATE_HDR_FIXED], rh[MC_MIGRATE_REC_HDR], hdr[MC_SEV_PKT_HDR_EXT_LEN];
    uint8_t *h = NULL, *payload = malloc(MC_SEV_TRANSFER_MAX);
    mc_status s = payload ? r(rctx, fixed, sizeof fixed, err) : mc_seterr(err, MC_E_NOMEM, "out of memory");
    if (!s) {
        uint32_t nv = mc_le32(fixed + O_VCPUS);
        if (memcmp(fixed, MC_MIGRATE_MAGIC, 8) != 0)
            s = bad(err, "not a memcrypt migration stream (magic)");
        else if (nv == 0 || nv > 64)
            s = bad(err, "the vCPU count is outside 1..64");
        else if (!(h = malloc(MC_MIGRATE_HDR_FIXED + 32 * nv)))
            s = mc_seterr(err, MC_E_NOMEM, "out of memory");
        else {
            memcpy(h, fixed, sizeof fixed);
            s = r(rctx, h + MC_MIGRATE_HDR_FIXED, 32 * nv, err);
            if (!s)
                s = rx_header(&x, h, MC_MIGRATE_HDR_FIXED + 32 * nv, err);
        }
    }
    while (!s && !x.ended) {
        if ((s = r(rctx, rh, sizeof rh, err)))
            break;
        uint32_t type = mc_le32(rh), hlen = mc_le32(rh + 4), len = mc_le32(rh + 16);
        uint64_t where = mc_le64(rh + 8);
        uint32_t cap = type == MC_MIGRATE_REC_SHARED ? (uint32_t)PAGE : MC_SEV_TRANSFER_MAX;
        if (hlen > sizeof hdr || len > cap) {
            s = bad(err, "a record is longer than any packet");
            break;
        }
        if ((hlen && (s = r(rctx, hdr, hlen, err))) || (len && (s = r(rctx, payload, len, err))))
            break;
        s = rx_record(&x, type, hlen, where, len, hdr, payload, err);
    }
    uint8_t extra;
    struct mc_error ignore;
    if (!s && r(rctx, &extra, 1, &ignore) == MC_OK)
        s = bad(err, "bytes follow the END record");
    free(h);
    if (payload)
        mc_wipe(payload, MC_SEV_TRANSFER_MAX);
    free(payload);
    if (s) {
        rx_abort(&x);
        return s;
    }
    *out = x.vm;
    return MC_OK;
}

mc_status mc_migrate(struct mc_board *src, struct mc_vm **vm, struct mc_board *dst, const struct mc_migrate_opts *o,
                     struct mc_vm **out, struct mc_migrate_stats *stats, struct mc_error *err)
{
    if (!dst || !out)
        return mc_seterr(err, MC_E_INVAL, "migration needs a target board and a place for the guest");
    *out = NULL;
    if (stats)
        memset(stats, 0, sizeof *stats);
    struct mc_migrate_target t;
    mc_status s = mc_migrate_target_info(dst, &t, err);
    if (s)
        return s;
    struct rx x = {.dst = dst, .stats = stats};
    struct pipe *p = calloc(1, sizeof *p);
    size_t hmax = MC_MIGRATE_HDR_FIXED + 32 * 64;
    bool ok = p != NULL;
    for (unsigned i = 0; ok && i < RING; i++)
        ok = (p->s[i].payload = malloc(hmax > MC_SEV_TRANSFER_MAX ? hmax : MC_SEV_TRANSFER_MAX)) != NULL;
    pthread_t tid;
    if (ok) {
        p->rx = &x;
        ok = pthread_mutex_init(&p->mu, NULL) == 0;
        if (ok && pthread_cond_init(&p->cv, NULL) != 0) {
            pthread_mutex_destroy(&p->mu);
            ok = false;
        }
        if (ok && pthread_create(&tid, NULL, rx_thread, p) != 0) {
            pthread_cond_destroy(&p->cv);
            pthread_mutex_destroy(&p->mu);
            ok = false;
        }
    }
    if (!ok) {
        for (unsigned i = 0; p && i < RING; i++)
            free(p->s[i].payload);
        free(p);
        return mc_seterr(err, MC_E_NOMEM, "out of memory (or threads) for the migration");
    }
    struct sink k = {NULL, NULL, p};
    s = do_send(src, vm, &t, o, &k, NULL, err);
    pthread_mutex_lock(&p->mu);
    p->tx_done = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(tid, NULL);
    if (!s && !x.ended)
        s = mc_seterr(err, MC_E_STATE, "the stream ended without its END record");
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    for (unsigned i = 0; i < RING; i++) {
        mc_wipe(p->s[i].payload, MC_SEV_TRANSFER_MAX);
        free(p->s[i].payload);
    }
    free(p);
    if (s) {
        rx_abort(&x);
        return s;
    }
    *out = x.vm;
    return MC_OK;
}

/* ---- saved guests ------------------------------------------------------------------------------ */

static mc_status chip_id(struct mc_board *b, uint8_t id[64], struct mc_error *err)
{
    const struct mc_sev_identity *x = mc_psp_identity(mc_board_psp(b), err);
    return x ? mc_sev_identity_get_id(x, id, err) : MC_E_STATE;
}


/* ---- saved SEV-SNP guests (kind 3): the firmware's hibernation export and import ------------- */

#define SNP_MAGIC "MCSNPHIB"
#define SNP_VERSION 1u
enum { S_VCPUS = 0x0C, S_MEM = 0x10, S_POLICY = 0x18, S_NFW = 0x20, S_NSHARED = 0x28, S_VMSA_MASK = 0x30,
       S_PT_GPA = 0x38, S_PT_LEN = 0x40, S_PT_NEXT = 0x48, S_SEALED_LEN = 0x50, S_FLAGS = 0x54, S_SECRETS = 0x58,
       S_END = 0x60 };
#define SF_SECRETS 1u /* S_SECRETS holds the secrets page's GPA */
_Static_assert(S_END <= MC_GUEST_SNP_HDR, "the SNP payload header");
_Static_assert(MC_GUEST_SNP_REC == MC_PSP_HIB_REC, "a saved SNP page record is the firmware's");
_Static_assert(MC_GUEST_SNP_SEALED == MC_PSP_HIB_SEALED, "the sealed context is the firmware's");

/* The chip authenticates the payload header with the record counts zeroed: the firmware's count is
 * inside the sealed context, the shared pages are the hypervisor's own. */
static void snp_aad(const uint8_t *ph, uint8_t aad[MC_GUEST_SNP_HDR])
{
    memcpy(aad, ph, MC_GUEST_SNP_HDR);
    memset(aad + S_NFW, 0, 16);
}

static mc_status snp_save(struct mc_board *b, struct mc_vm **vm, const struct mc_migrate_opts *o, uint8_t **file,
                          size_t *len, struct mc_error *err)
{
    struct mc_psp *psp = mc_board_psp(b);
    struct mc_rmp *rmp = mc_board_rmp(b);
    struct mc_vm *v = *vm;
    unsigned nv = mc_vm_vcpus(v);
    uint32_t hlen = MC_GUEST_FILE_HDR + 16 * (uint32_t)o->nshared;
    struct mc_migrate_buf buf = {0};
    static const uint8_t room[MC_GUEST_FILE_HDR + 16 * MC_GUEST_FILE_MAX_SHARED + MC_GUEST_SNP_HDR + MC_GUEST_SNP_SEALED];
    uint8_t h[MC_GUEST_FILE_HDR] = {0}, ph[MC_GUEST_SNP_HDR] = {0}, aad[MC_GUEST_SNP_HDR];
    uint8_t sealed[MC_GUEST_SNP_SEALED];
    struct mc_psp_hib_guest g = {.gctx_pa = mc_vm_snp_gctx(v), .mem_spa = mc_vm_mem_spa(v), .mem_size = mc_vm_mem_size(v),
                                 .nvcpu = nv};
    uint64_t mask = 0, nfw = 0, nsh = 0;
    for (unsigned i = 0; i < nv; i++)
        if ((g.vmsa_spa[i] = mc_vm_snp_vmsa(v, i)))
            mask |= 1ull << i;
    struct mc_vm_guest_state gs;
    mc_vm_get_guest_state(v, &gs);
    memcpy(ph, SNP_MAGIC, 8);
    mc_put_le32(ph + 0x08, SNP_VERSION);
    mc_put_le32(ph + S_VCPUS, nv);
    mc_put_le64(ph + S_MEM, g.mem_size);
    mc_put_le64(ph + S_POLICY, vmm_snp_vm_policy(v));
    mc_put_le64(ph + S_VMSA_MASK, mask);
    mc_put_le64(ph + S_PT_GPA, gs.pt_pool_gpa);
    mc_put_le64(ph + S_PT_LEN, gs.pt_pool_len);
    mc_put_le64(ph + S_PT_NEXT, gs.pt_next);
    mc_put_le32(ph + S_SEALED_LEN, MC_GUEST_SNP_SEALED);
    uint64_t secrets = 0;
    if (mc_vm_snp_secrets(v, &secrets)) {
        mc_put_le32(ph + S_FLAGS, SF_SECRETS);
        mc_put_le64(ph + S_SECRETS, secrets);
    }
    snp_aad(ph, aad);
    mc_status s = psp && rmp ? MC_OK : mc_seterr(err, MC_E_INVAL, "the board has no SNP firmware");
    unsigned apv = 0;
    if (!s && vmm_snp_vm_ap_changed(v, &apv)) /* before anything changes */
        s = mc_seterr(err, MC_E_UNSUPPORTED,
                      "vCPU %u's VMSA was changed by the guest (GHCB AP Creation): a saved SNP guest holds only "
                      "the launched VMSA pages, so a guest that made its own cannot be saved",
                      apv);
    if (!s)
        s = mc_migrate_buf_write(&buf, room, hlen + MC_GUEST_SNP_HDR + MC_GUEST_SNP_SEALED, err);
    if (!s)
        s = chip_id(b, h + 0x40, err);
    if (!s) /* the vCPUs leave the guest, the caches are written back: DRAM holds the guest */
        s = vmm_snp_vm_quiesce(v, err);
    if (!s)
        s = mc_board_wbinvd(b, err);
    if (!s) { /* the pages the hypervisor assigned; when the firmware finds the list incomplete (pages
               * assigned behind the hypervisor's back), every page of guest RAM */
        size_t mark = buf.len;
        g.pages = vmm_snp_vm_assigned(v, &g.npages);
        struct mc_error e2 = {0};
        s = g.pages ? mc_psp_snp_hib_export(psp, &g, aad, sizeof aad, mc_migrate_buf_write, &buf, &nfw, sealed, &e2)
                    : MC_E_STATE;
        free((void *)g.pages);
        g.pages = NULL;
        if (s == MC_E_STATE) {
            buf.len = mark;
            s = mc_psp_snp_hib_export(psp, &g, aad, sizeof aad, mc_migrate_buf_write, &buf, &nfw, sealed, err);
        } else if (s && err) {
            *err = e2;
        }
    }
    /* Shared pages: what the hypervisor sees of guest RAM outside the private pages, for the frames
     * that were ever written. */
    uint8_t *page = s ? NULL : malloc(MC_GUEST_SNP_REC);
    if (!s && !page)
        s = mc_seterr(err, MC_E_NOMEM, "out of memory");
    struct mc_dram *d = mc_machine_dram(mc_board_machine(b));
    for (uint64_t off = 0; !s && off < g.mem_size; off += PAGE) {
        struct mc_rmp_entry e;
        enum mc_rmp_page_state ps;
        if (!mc_dram_frame(d, (g.mem_spa + off) / PAGE, false))
            continue;
        if ((s = mc_rmp_fw_read(rmp, g.mem_spa + off, &e, &ps, err)))
            break;
        if (e.assigned)
            continue;
        memset(page, 0, MC_PSP_HIB_REC_HDR);
        if ((s = mc_vm_host_read(v, off, page + MC_PSP_HIB_REC_HDR, PAGE, err)))
            break;
        bool zero = true;
        for (size_t i = 0; zero && i < PAGE; i++)
            zero = page[MC_PSP_HIB_REC_HDR + i] == 0;
        if (zero)
            continue;
        mc_put_le32(page, MC_PSP_HIB_SHARED);
        mc_put_le64(page + 8, off);
        s = mc_migrate_buf_write(&buf, page, MC_GUEST_SNP_REC, err);
        nsh++;
    }
    free(page);
    if (s) {
        mc_migrate_buf_free(&buf);
        return s;
    }
    mc_put_le64(ph + S_NFW, nfw);
    mc_put_le64(ph + S_NSHARED, nsh);
    memcpy(h, MC_GUEST_FILE_MAGIC, 8);
    mc_put_le32(h + 0x08, MC_GUEST_FILE_VERSION);
    mc_put_le32(h + 0x0C, MC_GUEST_KIND_SNP);
    mc_put_le32(h + 0x10, hlen);
    mc_put_le32(h + 0x14, (uint32_t)o->nshared);
    mc_put_le64(h + 0x18, buf.len - hlen);
    const char *pn = mc_board_profile(b)->name;
    memcpy(h + 0x20, pn, strlen(pn) < 31 ? strlen(pn) : 31);
    memcpy(buf.data, h, sizeof h);
    for (size_t i = 0; i < o->nshared; i++) {
        mc_put_le64(buf.data + MC_GUEST_FILE_HDR + 16 * i, o->shared[i][0]);
        mc_put_le64(buf.data + MC_GUEST_FILE_HDR + 16 * i + 8, o->shared[i][1]);
    }
    memcpy(buf.data + hlen, ph, sizeof ph);
    memcpy(buf.data + hlen + MC_GUEST_SNP_HDR, sealed, sizeof sealed);
    if (!o->keep_running) {
        mc_vm_destroy(v); /* the guest leaves the board: DECOMMISSION, its pages given back */
        *vm = NULL;
    }
    *file = buf.data;
    *len = buf.len;
    return MC_OK;
}

/* The SNP payload (at p, n bytes) checked without a board. */
static mc_status snp_payload_check(const uint8_t *p, size_t n, struct mc_guest_file_info *info, struct mc_error *err)
{
    if (n < MC_GUEST_SNP_HDR + MC_GUEST_SNP_SEALED || memcmp(p, SNP_MAGIC, 8) != 0)
        return mc_seterr(err, MC_E_FORMAT, "the saved SNP guest's payload is not an SNP hibernation image (magic)");
    if (mc_le32(p + 0x08) != SNP_VERSION)
        return mc_seterr(err, MC_E_FORMAT, "the saved SNP guest's payload is version %u; this memcrypt reads version %u",
                         mc_le32(p + 0x08), SNP_VERSION);
    uint32_t nv = mc_le32(p + S_VCPUS);
    uint64_t mem = mc_le64(p + S_MEM), mask = mc_le64(p + S_VMSA_MASK), nfw = mc_le64(p + S_NFW),
             nsh = mc_le64(p + S_NSHARED);
    if (nv == 0 || nv > 64)
        return mc_seterr(err, MC_E_FORMAT, "the saved SNP guest's vCPU count %u is outside 1..64", nv);
    if (mem == 0 || (mem & ((2ull << 20) - 1)) || mem > MAX_MEM)
        return mc_seterr(err, MC_E_FORMAT, "the saved SNP guest's memory size is not a multiple of 2 MiB up to 1 TiB");
    if (nv < 64 && (mask >> nv))
        return mc_seterr(err, MC_E_FORMAT, "the saved SNP guest names VMSA pages of vCPUs it does not have");
    if (mc_le32(p + S_SEALED_LEN) != MC_GUEST_SNP_SEALED)
        return mc_seterr(err, MC_E_FORMAT, "the saved SNP guest's sealed context is not %u bytes", MC_GUEST_SNP_SEALED);
    for (size_t i = S_END; i < MC_GUEST_SNP_HDR; i++)
        if (p[i])
            return mc_seterr(err, MC_E_FORMAT, "the saved SNP guest's reserved header bytes are not zero");
    uint64_t max = (n - MC_GUEST_SNP_HDR - MC_GUEST_SNP_SEALED) / MC_GUEST_SNP_REC;
    if (nfw > max || nsh > max - nfw ||
        (nfw + nsh) * MC_GUEST_SNP_REC != n - MC_GUEST_SNP_HDR - MC_GUEST_SNP_SEALED)
        return mc_seterr(err, MC_E_FORMAT, "the saved SNP guest holds %zu bytes of page records, its header says %llu + %llu records",
                         n - MC_GUEST_SNP_HDR - MC_GUEST_SNP_SEALED, (unsigned long long)nfw, (unsigned long long)nsh);
    if (nfw > mem / PAGE + nv)
        return mc_seterr(err, MC_E_FORMAT, "the saved SNP guest has more private pages than guest RAM and VMSAs");
    uint32_t fl = mc_le32(p + S_FLAGS);
    uint64_t sec = mc_le64(p + S_SECRETS);
    if ((fl & ~SF_SECRETS) || (!(fl & SF_SECRETS) && sec) || ((fl & SF_SECRETS) && (sec >= mem || (sec & (PAGE - 1)))))
        return mc_seterr(err, MC_E_FORMAT, "the saved SNP guest's flags or secrets page are invalid");
    uint64_t ptg = mc_le64(p + S_PT_GPA), ptl = mc_le64(p + S_PT_LEN), ptn = mc_le64(p + S_PT_NEXT);
    if (ptl && ((ptg | ptl) & (PAGE - 1) || ptg >= mem || ptl > mem - ptg || ptn > ptl))
        return mc_seterr(err, MC_E_FORMAT, "the saved SNP guest's page-table pool lies outside its memory");
    if (info) {
        info->mem_size = mem;
        info->vcpus = nv;
        info->policy = (uint32_t)mc_le64(p + S_POLICY);
    }
    return MC_OK;
}

struct snp_rx {
    struct mc_board *b;
    const uint8_t *ph, *sealed, *recs;
    uint64_t nfw;
};

static mc_status snp_import(void *ctx, struct mc_vm *vm, uint32_t asid, uint32_t *fw_status, struct mc_error *err)
{
    struct snp_rx *x = ctx;
    struct mc_psp_hib_guest g = {.gctx_pa = mc_vm_snp_gctx(vm), .mem_spa = mc_vm_mem_spa(vm), .mem_size = mc_vm_mem_size(vm),
                                 .nvcpu = mc_vm_vcpus(vm), .asid = asid};
    for (unsigned i = 0; i < g.nvcpu; i++)
        g.vmsa_spa[i] = mc_vm_snp_vmsa(vm, i);
    uint8_t aad[MC_GUEST_SNP_HDR];
    snp_aad(x->ph, aad);
    return mc_psp_snp_hib_import(mc_board_psp(x->b), &g, aad, sizeof aad, x->sealed, x->recs, x->nfw, fw_status, err);
}

static mc_status snp_restore(struct mc_board *b, const uint8_t *p, struct mc_vm **out, struct mc_error *err)
{
    struct mc_vmm *vmm = mc_board_vmm(b);
    if (!vmm || !mc_board_psp(b) || !mc_board_rmp(b))
        return mc_seterr(err, MC_E_INVAL, "restoring an SNP guest needs a board with SNP firmware and a hypervisor");
    uint64_t mem = mc_le64(p + S_MEM), nfw = mc_le64(p + S_NFW), nsh = mc_le64(p + S_NSHARED);
    const uint8_t *recs = p + MC_GUEST_SNP_HDR + MC_GUEST_SNP_SEALED, *shr = recs + nfw * MC_GUEST_SNP_REC;
    /* The shared records are the hypervisor's: checked here (the firmware checks its own). */
    uint8_t *seen = calloc((size_t)(mem / PAGE / 8) + 1, 1);
    if (!seen)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    mc_status s = MC_OK;
    for (uint64_t i = 0; !s && i < nfw; i++) {
        const uint8_t *r = recs + i * MC_GUEST_SNP_REC;
        uint64_t gpa = mc_le64(r + 8);
        if (mc_le32(r) == MC_PSP_HIB_PRIVATE && gpa < mem && !(gpa & (PAGE - 1)))
            seen[gpa / PAGE / 8] |= (uint8_t)(1u << (gpa / PAGE % 8));
    }
    for (uint64_t i = 0; !s && i < nsh; i++) {
        const uint8_t *r = shr + i * MC_GUEST_SNP_REC;
        uint64_t gpa = mc_le64(r + 8);
        bool clean = true; /* vCPU, old address, flags and permissions are zero */
        for (size_t k = 4; clean && k < MC_PSP_HIB_REC_HDR; k++)
            clean = (k >= 8 && k < 16) || r[k] == 0;
        if (mc_le32(r) != MC_PSP_HIB_SHARED || !clean || (gpa & (PAGE - 1)) || gpa >= mem)
            s = mc_seterr(err, MC_E_FORMAT, "the saved SNP guest's shared page record %llu is malformed", (unsigned long long)i);
        else if (seen[gpa / PAGE / 8] & (1u << (gpa / PAGE % 8)))
            s = mc_seterr(err, MC_E_FORMAT, "the saved SNP guest's shared page 0x%llx is also private or appears twice",
                          (unsigned long long)gpa);
        else
            seen[gpa / PAGE / 8] |= (uint8_t)(1u << (gpa / PAGE % 8));
    }
    free(seen);
    if (s)
        return s;
    struct mc_vm_config vc = {.vcpus = mc_le32(p + S_VCPUS), .mem_size = mem, .snp = true,
                              .snp_policy = mc_le64(p + S_POLICY)};
    struct snp_rx x = {b, p, p + MC_GUEST_SNP_HDR, recs, nfw};
    struct mc_vm *vm = NULL;
    s = vmm_snp_vm_resume(vmm, &vc, mc_le64(p + S_VMSA_MASK), snp_import, &x, &vm, err);
    for (uint64_t i = 0; !s && i < nfw; i++) {
        const uint8_t *r = recs + i * MC_GUEST_SNP_REC;
        if (mc_le32(r) == MC_PSP_HIB_PRIVATE)
            vmm_snp_vm_mark_private(vm, mc_le64(r + 8));
    }
    for (uint64_t i = 0; !s && i < nsh; i++) {
        const uint8_t *r = shr + i * MC_GUEST_SNP_REC;
        s = mc_vm_host_write(vm, mc_le64(r + 8), r + MC_PSP_HIB_REC_HDR, PAGE, err);
    }
    if (!s) {
        struct mc_vm_guest_state gs;
        mc_vm_get_guest_state(vm, &gs);
        gs.pt_pool_gpa = mc_le64(p + S_PT_GPA);
        gs.pt_pool_len = mc_le64(p + S_PT_LEN);
        gs.pt_next = mc_le64(p + S_PT_NEXT);
        s = mc_vm_set_guest_state(vm, &gs, err);
    }
    if (!s && (mc_le32(p + S_FLAGS) & SF_SECRETS))
        vmm_snp_vm_set_secrets(vm, mc_le64(p + S_SECRETS));
    if (s) {
        mc_vm_destroy(vm);
        return s;
    }
    *out = vm;
    return MC_OK;
}

mc_status mc_guest_save(struct mc_board *b, struct mc_vm **vm, const struct mc_migrate_opts *o, uint8_t **file,
                        size_t *len, struct mc_error *err)
{
    static const struct mc_migrate_opts none = {0};
    if (!o)
        o = &none;
    if (!b || !vm || !*vm || !file || !len)
        return mc_seterr(err, MC_E_INVAL, "saving needs a board, a guest and a place for the file");
    if (o->nshared > MC_GUEST_FILE_MAX_SHARED)
        return mc_seterr(err, MC_E_RANGE, "at most %u shared ranges can be saved", MC_GUEST_FILE_MAX_SHARED);
    if (o->keep_running && !mc_vm_is_snp(*vm))
        return mc_seterr(err, MC_E_INVAL, "only an SEV-SNP guest can be saved and keep running (a checkpoint)");
    if (mc_vm_is_snp(*vm))
        return snp_save(b, vm, o, file, len, err);
    uint32_t hlen = MC_GUEST_FILE_HDR + 16 * (uint32_t)o->nshared;
    struct mc_migrate_buf buf = {0};
    uint8_t h[MC_GUEST_FILE_HDR] = {0};
    struct mc_migrate_target t;
    uint32_t policy = mc_vm_policy(*vm);
    static const uint8_t room[MC_GUEST_FILE_HDR + 16 * MC_GUEST_FILE_MAX_SHARED];
    mc_status s = mc_migrate_buf_write(&buf, room, hlen, err); /* room for the header, filled below */
    if (!s)
        s = chip_id(b, h + 0x40, err);
    if (!s)
        s = mc_migrate_target_info(b, &t, err); /* the platform itself is the target */
    if (!s)
        s = mc_migrate_send(b, vm, &t, o, mc_migrate_buf_write, &buf, NULL, err);
    if (s) {
        mc_migrate_buf_free(&buf);
        return s;
    }
    memcpy(h, MC_GUEST_FILE_MAGIC, 8);
    mc_put_le32(h + 0x08, MC_GUEST_FILE_VERSION);
    mc_put_le32(h + 0x0C, (policy & MC_SEV_POLICY_ES) ? MC_MIGRATE_KIND_SEV_ES : MC_MIGRATE_KIND_SEV);
    mc_put_le32(h + 0x10, hlen);
    mc_put_le32(h + 0x14, (uint32_t)o->nshared);
    mc_put_le64(h + 0x18, buf.len - hlen);
    const char *pn = mc_board_profile(b)->name;
    memcpy(h + 0x20, pn, strlen(pn) < 31 ? strlen(pn) : 31);
    memcpy(buf.data, h, sizeof h);
    for (size_t i = 0; i < o->nshared; i++) {
        mc_put_le64(buf.data + MC_GUEST_FILE_HDR + 16 * i, o->shared[i][0]);
        mc_put_le64(buf.data + MC_GUEST_FILE_HDR + 16 * i + 8, o->shared[i][1]);
    }
    *file = buf.data;
    *len = buf.len;
    return MC_OK;
}

mc_status mc_guest_file_info(const uint8_t *f, size_t len, struct mc_guest_file_info *info, struct mc_error *err)
{
    struct mc_guest_file_info tmp;
    if (!info)
        info = &tmp;
    memset(info, 0, sizeof *info);
    if (!f || len < MC_GUEST_FILE_HDR || memcmp(f, MC_GUEST_FILE_MAGIC, 8) != 0)
        return mc_seterr(err, MC_E_FORMAT, "not a memcrypt saved guest (magic)");
    if (mc_le32(f + 0x08) != MC_GUEST_FILE_VERSION)
        return mc_seterr(err, MC_E_FORMAT, "the saved guest is version %u; this memcrypt reads version %u",
                         mc_le32(f + 0x08), MC_GUEST_FILE_VERSION);
    uint32_t kind = mc_le32(f + 0x0C), hlen = mc_le32(f + 0x10), n = mc_le32(f + 0x14);
    uint64_t slen = mc_le64(f + 0x18);
    if (kind != MC_MIGRATE_KIND_SEV && kind != MC_MIGRATE_KIND_SEV_ES && kind != MC_GUEST_KIND_SNP)
        return mc_seterr(err, MC_E_FORMAT, "the saved guest is of kind %u (this memcrypt reads 1 SEV, 2 SEV-ES, 3 SEV-SNP)",
                         kind);
    if (n > MC_GUEST_FILE_MAX_SHARED || hlen != MC_GUEST_FILE_HDR + 16 * n)
        return mc_seterr(err, MC_E_FORMAT, "the saved guest's header length does not match its shared ranges");
    if (len < hlen || slen != len - hlen || slen < (kind == MC_GUEST_KIND_SNP ? MC_GUEST_SNP_HDR : MC_MIGRATE_HDR_FIXED))
        return mc_seterr(err, MC_E_FORMAT, "the saved guest is %zu bytes, its header says %llu (truncated or padded)",
                         len, (unsigned long long)(hlen + slen));
    if (!memchr(f + 0x20, 0, 32))
        return mc_seterr(err, MC_E_FORMAT, "the saved guest's platform name is not terminated");
    const uint8_t *st = f + hlen;
    if (kind == MC_GUEST_KIND_SNP) {
        mc_status s = snp_payload_check(st, (size_t)slen, info, err);
        if (s)
            return s;
    } else if (memcmp(st, MC_MIGRATE_MAGIC, 8) != 0 || mc_le32(st + O_KIND) != kind)
        return mc_seterr(err, MC_E_FORMAT, "the saved guest's stream does not match its header");
    info->kind = kind;
    memcpy(info->platform, f + 0x20, 32);
    memcpy(info->chip_id, f + 0x40, 64);
    info->nshared = n;
    for (uint32_t i = 0; i < n; i++) {
        info->shared[i][0] = mc_le64(f + MC_GUEST_FILE_HDR + 16 * i);
        info->shared[i][1] = mc_le64(f + MC_GUEST_FILE_HDR + 16 * i + 8);
        if ((info->shared[i][0] | info->shared[i][1]) & (PAGE - 1))
            return mc_seterr(err, MC_E_FORMAT, "the saved guest's shared range %u is not whole pages", i);
    }
    if (kind != MC_GUEST_KIND_SNP) {
        info->mem_size = mc_le64(st + O_MEM);
        info->vcpus = mc_le32(st + O_VCPUS);
        info->policy = mc_le32(st + O_POLICY);
    }
    return MC_OK;
}

mc_status mc_guest_restore(struct mc_board *b, const uint8_t *file, size_t len, struct mc_vm **out,
                           struct mc_guest_file_info *info, struct mc_error *err)
{
    struct mc_guest_file_info tmp;
    if (!info)
        info = &tmp;
    if (!b || !out)
        return mc_seterr(err, MC_E_INVAL, "restoring needs a board and a place for the guest");
    *out = NULL;
    mc_status s = mc_guest_file_info(file, len, info, err);
    if (s)
        return s;
    uint8_t id[64];
    if ((s = chip_id(b, id, err)))
        return s;
    if (!mc_ct_equal(id, info->chip_id, 64) || strcmp(info->platform, mc_board_profile(b)->name) != 0)
        return mc_seterr(err, MC_E_VERIFY,
                         "the guest was saved on another chip (%s, GET_ID %02x%02x%02x%02x...); only that chip can "
                         "continue it (migrate it instead)",
                         info->platform, info->chip_id[0], info->chip_id[1], info->chip_id[2], info->chip_id[3]);
    uint32_t hlen = mc_le32(file + 0x10);
    if (info->kind == MC_GUEST_KIND_SNP)
        return snp_restore(b, file + hlen, out, err); /* checked by mc_guest_file_info */
    struct mc_migrate_buf in = {.data = (uint8_t *)file + hlen, .len = len - hlen, .cap = len - hlen};
    return mc_migrate_receive(b, mc_migrate_buf_read, &in, out, NULL, err);
}
