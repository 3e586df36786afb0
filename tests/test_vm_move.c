/* Intra-host migration and mirror VMs, in the shape of the Linux KVM selftest of intra-host
 * SEV migration (what each of its tests asserts, against this hypervisor's API):
 *   - move from (SEV, SEV-ES): a guest's context moves along a chain of VMs without SEV; the
 *     destination gets the handle and ASID and the guest's memory reads back as launched; the
 *     source is dead, and moving back into it is refused;
 *   - move parameters: refused into a VM that has SEV or SEV-ES already, for SEV-ES with a vCPU
 *     count that differs or a vCPU without its VMSA, from a VM without SEV, into itself;
 *   - mirror (SEV, SEV-ES): a VM without SEV and without vCPUs mirrors a guest, gets vCPUs that
 *     run with the shared ASID and key, and (SEV-ES) their VMSAs through LAUNCH_UPDATE_VMSA;
 *   - mirror parameters: refused to itself, into a VM with SEV or SEV-ES, from a VM without SEV,
 *     into a VM with vCPUs; and (this model) from a mirror, a mirror launching or migrating;
 *   - move and copy: a mirrored guest cannot be moved (busy), the mirror itself can, and once the
 *     mirror is gone the guest moves; a mirrored guest's destroy waits for its last mirror;
 *   - locking: threads moving contexts between the same VMs never deadlock (try-locks), and two
 *     threads racing to take the same guest: exactly one wins. */
#include <pthread.h>

#include <memcrypt/guest.h>

#include "check.h"
#include "test_vm_env.h"

#define NVCPU 4
#define NDST 3

static uint8_t image[4096];

/* An SEV or SEV-ES guest with NVCPU vCPUs whose first page was launched from `image` (and, for
 * SEV-ES, every vCPU's VMSA when vmsas is set): KVM's SEV_INIT/ES_INIT + LAUNCH_START (+ VMSAs). */
static struct mc_vm *sev_vm(struct env *e, bool es, bool vmsas)
{
    struct mc_vm_config c = {.vcpus = NVCPU, .mem_size = 2ull << 20, .policy = es ? MC_SEV_POLICY_ES : 0};
    struct mc_vm *vm = NULL;
    struct mc_error err;
    if (mc_vm_create(e->vmm, &c, &vm, NULL, &err) || mc_vm_launch_update(vm, 0, image, sizeof image, 0, NULL, NULL, &err)) {
        fprintf(stderr, "sev_vm: %s\n", err.msg);
        mc_vm_destroy(vm);
        return NULL;
    }
    static uint8_t vmsa[4096];
    for (unsigned i = 0; es && vmsas && i < NVCPU; i++) {
        vmsa[0] = (uint8_t)i;
        CHECK(mc_vm_launch_update_vmsa(vm, i, vmsa, &err) == MC_OK);
    }
    return vm;
}

/* A VM without SEV (KVM: a VM before KVM_SEV_INIT), with or without vCPUs. */
static struct mc_vm *aux_vm(struct env *e, unsigned vcpus)
{
    struct mc_vm_config c = {.vcpus = vcpus, .no_sev = true};
    struct mc_vm *vm = NULL;
    CHECK(mc_vm_create(e->vmm, &c, &vm, NULL, NULL) == MC_OK);
    return vm;
}

/* The guest's first page as vCPU i of vm reads it (private, paging off): the launched image. */
static void check_memory(struct mc_vm *vm, unsigned i)
{
    struct mc_vcpu *v = mc_vm_vcpu(vm, i);
    CHECK(v != NULL);
    if (!v)
        return;
    uint8_t b[sizeof image];
    struct mc_fault f;
    CHECK(mc_guest_phys_read(v, 0, true, b, sizeof b, &f, NULL) == MC_OK);
    CHECK_MEM(b, image, sizeof b);
}

/* The firmware's view of a handle: its state (UNINIT: no such guest, as AMD's firmware answers an
 * unknown handle), or 0xFF when GUEST_STATUS fails. */
static unsigned fw_state(struct env *e, uint32_t handle, uint32_t *asid)
{
    uint8_t b[sizeof(struct mc_sev_guest_status)] = {0};
    mc_put_le32(b, handle);
    if (fw(&e->t, MC_SEV_CMD_GUEST_STATUS, b, sizeof b) != MC_FW_SUCCESS)
        return 0xFF;
    if (asid)
        *asid = mc_le32(b + offsetof(struct mc_sev_guest_status, asid));
    return b[offsetof(struct mc_sev_guest_status, state)];
}

static void test_move_from(bool es)
{
    struct env e;
    CHECK(env_open(&e, "milan", MC_SEV_INIT_FLAG_ES) == 0);
    struct mc_vm *src = sev_vm(&e, es, true), *dst[NDST];
    CHECK(src != NULL);
    uint32_t handle = mc_vm_handle(src), asid = mc_vm_asid(src), fw_asid = 0;
    for (unsigned i = 0; i < NDST; i++)
        dst[i] = aux_vm(&e, NVCPU);
    struct mc_error err;
    CHECK(mc_vm_vcpu(dst[0], 0) == NULL); /* no context: its vCPUs cannot run yet */
    /* The first move, then along the chain. */
    CHECK(mc_vm_move_enc_context_from(dst[0], src, &err) == MC_OK);
    for (unsigned i = 1; i < NDST; i++)
        CHECK(mc_vm_move_enc_context_from(dst[i], dst[i - 1], &err) == MC_OK);
    struct mc_vm *last = dst[NDST - 1];
    CHECK(mc_vm_handle(last) == handle && mc_vm_asid(last) == asid && mc_vm_vcpus(last) == NVCPU);
    CHECK(mc_vm_policy(last) == (es ? MC_SEV_POLICY_ES : 0u));
    for (unsigned i = 0; i < NVCPU; i++) {
        check_memory(last, i);
        CHECK(mc_vm_has_vmsa(last, i) == es);
    }
    /* The firmware was never asked: the same guest, the same ASID. */
    CHECK(fw_state(&e, handle, &fw_asid) == MC_SEV_GSTATE_LUPDATE && fw_asid == asid);
    /* Every VM moved from is dead: moving the guest back into the original VM is refused. */
    CHECK(mc_vm_dead(src) && mc_vm_vcpu(src, 0) == NULL && mc_vm_handle(src) == 0);
    CHECK(mc_vm_move_enc_context_from(src, last, &err) == MC_E_STATE);
    CHECK(strstr(err.msg, "dead") != NULL);
    CHECK(mc_vm_launch_finish(src, &err) == MC_E_STATE);
    CHECK(mc_vm_launch_finish(dst[0], &err) == MC_E_STATE);
    CHECK(mc_vm_handle(last) == handle && !mc_vm_dead(last));
    /* The destination goes on with the launch where the source left it. */
    uint8_t m[0x30];
    CHECK(mc_vm_launch_measure(last, m, &err) == MC_OK && mc_vm_launch_finish(last, &err) == MC_OK);
    CHECK(fw_state(&e, handle, NULL) == MC_SEV_GSTATE_RUNNING);
    mc_vm_destroy(src); /* dead: nothing for the firmware */
    CHECK(fw_state(&e, handle, NULL) == MC_SEV_GSTATE_RUNNING);
    for (unsigned i = 0; i < NDST; i++)
        mc_vm_destroy(dst[i]);
    CHECK(fw_state(&e, handle, NULL) == MC_SEV_GSTATE_UNINIT); /* the last owner decommissioned it */
    env_close(&e);
}

static void test_move_parameters(void)
{
    struct env e;
    CHECK(env_open(&e, "milan", MC_SEV_INIT_FLAG_ES) == 0);
    struct mc_vm *sev = sev_vm(&e, false, false), *sev_es = sev_vm(&e, true, true);
    struct mc_vm *es_no_vmsa = sev_vm(&e, true, false), *no_vcpu = aux_vm(&e, 0), *no_sev = aux_vm(&e, NVCPU);
    struct mc_vm *shell = aux_vm(&e, NVCPU);
    CHECK(sev && sev_es && es_no_vmsa);
    struct mc_error err;
    CHECK(mc_vm_move_enc_context_from(sev, sev_es, &err) == MC_E_INVAL); /* into an SEV VM */
    CHECK(mc_vm_move_enc_context_from(sev_es, sev, &err) == MC_E_INVAL); /* into an SEV-ES VM */
    CHECK(mc_vm_move_enc_context_from(no_vcpu, sev_es, &err) == MC_E_INVAL); /* SEV-ES: vCPU counts differ */
    CHECK(strstr(err.msg, "vCPUs") != NULL);
    CHECK(mc_vm_move_enc_context_from(shell, es_no_vmsa, &err) == MC_E_INVAL); /* SEV-ES: no VMSA yet */
    CHECK(strstr(err.msg, "VMSA") != NULL);
    CHECK(mc_vm_move_enc_context_from(no_vcpu, no_sev, &err) == MC_E_INVAL); /* the source has no SEV */
    CHECK(mc_vm_move_enc_context_from(sev, sev, &err) == MC_E_INVAL);       /* into itself */
    CHECK(mc_vm_move_enc_context_from(NULL, sev, &err) == MC_E_INVAL);
    /* Nothing changed: every guest where it was, every VM without SEV still without. */
    CHECK(!mc_vm_dead(sev) && !mc_vm_dead(sev_es) && !mc_vm_dead(es_no_vmsa));
    CHECK(mc_vm_handle(no_vcpu) == 0 && mc_vm_handle(shell) == 0 && mc_vm_handle(no_sev) == 0);
    check_memory(sev, 0);
    check_memory(sev_es, 0);
    /* A plain SEV guest moves into a VM with any vCPU count (its vCPUs go with it). */
    CHECK(mc_vm_move_enc_context_from(no_vcpu, sev, &err) == MC_OK && mc_vm_vcpus(no_vcpu) == NVCPU);
    check_memory(no_vcpu, NVCPU - 1);
    struct mc_vm *all[] = {sev, sev_es, es_no_vmsa, no_vcpu, no_sev, shell};
    for (unsigned i = 0; i < 6; i++)
        mc_vm_destroy(all[i]);
    env_close(&e);
}

static void test_mirror(bool es)
{
    struct env e;
    CHECK(env_open(&e, "milan", MC_SEV_INIT_FLAG_ES) == 0);
    struct mc_vm *src = sev_vm(&e, es, true), *mirror = aux_vm(&e, 0);
    CHECK(src != NULL);
    struct mc_error err;
    CHECK(mc_vm_copy_enc_context_from(mirror, src, &err) == MC_OK);
    CHECK(mc_vm_mirror_of(mirror) == src && mc_vm_handle(mirror) == mc_vm_handle(src) &&
          mc_vm_asid(mirror) == mc_vm_asid(src));
    /* The mirror's creation completes: vCPUs, and for SEV-ES their VMSAs (LAUNCH_UPDATE_VMSA is
     * one of the commands a mirror may issue). */
    for (unsigned i = 0; i < NVCPU; i++) {
        struct mc_vcpu *v = NULL;
        CHECK(mc_vm_add_vcpu(mirror, &v, &err) == MC_OK && v != NULL);
    }
    static uint8_t vmsa[4096];
    for (unsigned i = 0; es && i < NVCPU; i++)
        CHECK(mc_vm_launch_update_vmsa(mirror, i, vmsa, &err) == MC_OK);
    /* Its vCPUs run with the shared ASID and key: the parent's memory reads as launched. */
    for (unsigned i = 0; i < NVCPU; i++)
        check_memory(mirror, i);
    /* ... and what the mirror writes, the parent reads. */
    struct mc_fault f;
    uint8_t w[64] = "written by the mirror", r[64];
    CHECK(mc_guest_phys_write(mc_vm_vcpu(mirror, 1), 0x2000, true, w, sizeof w, &f, &err) == MC_OK);
    CHECK(mc_guest_phys_read(mc_vm_vcpu(src, 0), 0x2000, true, r, sizeof r, &f, &err) == MC_OK);
    CHECK_MEM(r, w, sizeof w);
    /* A mirror does not launch. */
    uint8_t m[0x30];
    CHECK(mc_vm_launch_update(mirror, 0x1000, image, sizeof image, 0, NULL, NULL, &err) == MC_E_INVAL);
    CHECK(strstr(err.msg, "mirror") != NULL);
    CHECK(mc_vm_launch_measure(mirror, m, &err) == MC_E_INVAL);
    CHECK(mc_vm_launch_finish(mirror, &err) == MC_E_INVAL);
    CHECK(mc_vm_send_finish(mirror, &err) == MC_E_INVAL);
    /* The parent's destroy waits for its mirror: the firmware guest stays, the mirror runs on. */
    uint32_t handle = mc_vm_handle(src);
    mc_vm_destroy(src);
    CHECK(fw_state(&e, handle, NULL) == MC_SEV_GSTATE_LUPDATE);
    check_memory(mirror, 0);
    mc_vm_destroy(mirror); /* the last mirror: the parent's destroy completes */
    CHECK(fw_state(&e, handle, NULL) == MC_SEV_GSTATE_UNINIT);
    env_close(&e);
}

static void test_mirror_parameters(void)
{
    struct env e;
    CHECK(env_open(&e, "milan", MC_SEV_INIT_FLAG_ES) == 0);
    struct mc_vm *sev = sev_vm(&e, false, false), *sev_es = sev_vm(&e, true, true);
    struct mc_vm *with_vcpu = aux_vm(&e, NVCPU), *no_vcpu = aux_vm(&e, 0), *mirror = aux_vm(&e, 0), *m2 = aux_vm(&e, 0);
    struct mc_error err;
    CHECK(mc_vm_copy_enc_context_from(sev, sev, &err) == MC_E_INVAL);           /* to itself */
    CHECK(mc_vm_copy_enc_context_from(sev, sev_es, &err) == MC_E_INVAL);        /* into an SEV VM */
    CHECK(mc_vm_copy_enc_context_from(sev_es, sev, &err) == MC_E_INVAL);        /* into an SEV-ES VM */
    CHECK(mc_vm_copy_enc_context_from(no_vcpu, with_vcpu, &err) == MC_E_INVAL); /* from a VM without SEV */
    CHECK(mc_vm_copy_enc_context_from(with_vcpu, sev, &err) == MC_E_INVAL);     /* into a VM with vCPUs */
    CHECK(strstr(err.msg, "vCPU") != NULL);
    CHECK(mc_vm_mirror_of(no_vcpu) == NULL && mc_vm_mirror_of(with_vcpu) == NULL && mc_vm_handle(no_vcpu) == 0);
    /* This model's further rules: no mirror of a mirror; vCPUs are added to mirrors and VMs
     * without SEV only. */
    CHECK(mc_vm_copy_enc_context_from(mirror, sev, &err) == MC_OK);
    CHECK(mc_vm_copy_enc_context_from(m2, mirror, &err) == MC_E_INVAL);
    CHECK(mc_vm_add_vcpu(sev, NULL, &err) == MC_E_STATE);
    struct mc_vcpu *v = (struct mc_vcpu *)1;
    CHECK(mc_vm_add_vcpu(no_vcpu, &v, &err) == MC_OK && v == NULL && mc_vm_vcpus(no_vcpu) == 1);
    struct mc_vm *all[] = {mirror, m2, sev, sev_es, with_vcpu, no_vcpu};
    for (unsigned i = 0; i < 6; i++)
        mc_vm_destroy(all[i]);
    env_close(&e);
}

static void test_move_copy(void)
{
    struct env e;
    CHECK(env_open(&e, "milan", MC_SEV_INIT_FLAG_ES) == 0);
    struct mc_vm *sev = sev_vm(&e, false, false), *dst = aux_vm(&e, NVCPU), *mirror = aux_vm(&e, 0),
                 *dst_mirror = aux_vm(&e, 0);
    struct mc_error err;
    CHECK(mc_vm_copy_enc_context_from(mirror, sev, &err) == MC_OK);
    CHECK(mc_vm_move_enc_context_from(dst, sev, &err) == MC_E_BUSY); /* a mirrored guest does not move */
    /* The mirror itself can be moved; the destination is the mirror now. */
    CHECK(mc_vm_move_enc_context_from(dst_mirror, mirror, &err) == MC_OK);
    CHECK(mc_vm_mirror_of(dst_mirror) == sev && mc_vm_dead(mirror) && mc_vm_mirror_of(mirror) == NULL);
    CHECK(mc_vm_move_enc_context_from(dst, sev, &err) == MC_E_BUSY);
    /* Once the (moved) mirror is gone, the guest moves. */
    mc_vm_destroy(dst_mirror);
    CHECK(mc_vm_move_enc_context_from(dst, sev, &err) == MC_OK);
    check_memory(dst, 0);
    uint32_t handle = mc_vm_handle(dst);
    mc_vm_destroy(mirror);
    mc_vm_destroy(sev);
    CHECK(fw_state(&e, handle, NULL) == MC_SEV_GSTATE_LUPDATE);
    mc_vm_destroy(dst);
    CHECK(fw_state(&e, handle, NULL) == MC_SEV_GSTATE_UNINIT);
    env_close(&e);
}

/* ---- locking ----------------------------------------------------------------------------------- */

#define NTHREADS 3
#define ITERATIONS 3000

struct lock_input {
    struct mc_vm *vm;
    struct mc_vm *sources[NTHREADS];
    unsigned busy, refused;
};

static void *lock_thread(void *arg)
{
    struct lock_input *in = arg;
    for (unsigned i = 0; i < ITERATIONS; i++) {
        struct mc_error err;
        mc_status s = mc_vm_move_enc_context_from(in->vm, in->sources[i % NTHREADS], &err);
        in->busy += s == MC_E_BUSY;
        in->refused += s == MC_E_INVAL;
    }
    return NULL;
}

struct race {
    pthread_barrier_t *go;
    struct mc_vm *dst, *src;
    mc_status st;
};

static void *race_thread(void *arg)
{
    struct race *r = arg;
    struct mc_error err;
    pthread_barrier_wait(r->go);
    r->st = mc_vm_move_enc_context_from(r->dst, r->src, &err);
    return NULL;
}

static void test_locking(void)
{
    struct env e;
    CHECK(env_open(&e, "milan", MC_SEV_INIT_FLAG_ES) == 0);
    /* KVM's shape: every thread moves into its own SEV VM from each of the others in turn, in
     * every lock order at once; all are refused (the destination has SEV, or a VM is busy) and
     * none waits for another. */
    struct lock_input in[NTHREADS];
    pthread_t t[NTHREADS];
    uint32_t handles[NTHREADS];
    for (unsigned i = 0; i < NTHREADS; i++) {
        memset(&in[i], 0, sizeof in[i]);
        in[i].vm = sev_vm(&e, false, false);
        handles[i] = mc_vm_handle(in[i].vm);
    }
    for (unsigned i = 0; i < NTHREADS; i++)
        for (unsigned j = 0; j < NTHREADS; j++)
            in[i].sources[j] = in[j].vm;
    for (unsigned i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&t[i], NULL, lock_thread, &in[i]) == 0);
    unsigned calls = 0;
    for (unsigned i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        calls += in[i].busy + in[i].refused;
    }
    CHECK(calls == NTHREADS * ITERATIONS); /* every call answered BUSY or INVAL */
    if (getenv("MC_TEST_VERBOSE"))
        fprintf(stderr, "locking: %u of %u calls found a VM busy\n", in[0].busy + in[1].busy + in[2].busy, calls);
    for (unsigned i = 0; i < NTHREADS; i++) {
        CHECK(mc_vm_handle(in[i].vm) == handles[i] && !mc_vm_dead(in[i].vm));
        check_memory(in[i].vm, 0);
    }
    /* Two threads race to take the same guest, round after round: exactly one wins; the other
     * finds it busy or already dead. */
    struct mc_vm *holder = in[0].vm;
    const uint32_t handle = handles[0], asid = mc_vm_asid(holder);
    pthread_barrier_t go;
    CHECK(pthread_barrier_init(&go, NULL, 2) == 0);
    unsigned busy = 0;
    for (unsigned round = 0; round < 200; round++) {
        struct race r[2] = {{&go, aux_vm(&e, 1), holder, MC_E_INVAL}, {&go, aux_vm(&e, 3), holder, MC_E_INVAL}};
        pthread_t rt[2];
        for (unsigned i = 0; i < 2; i++)
            CHECK(pthread_create(&rt[i], NULL, race_thread, &r[i]) == 0);
        for (unsigned i = 0; i < 2; i++)
            pthread_join(rt[i], NULL);
        int won = (r[0].st == MC_OK) + (r[1].st == MC_OK);
        CHECK(won == 1);
        if (won != 1)
            break;
        struct race *w = r[0].st == MC_OK ? &r[0] : &r[1], *l = w == &r[0] ? &r[1] : &r[0];
        CHECK(l->st == MC_E_BUSY || l->st == MC_E_STATE);
        busy += l->st == MC_E_BUSY;
        CHECK(mc_vm_dead(holder) && mc_vm_handle(w->dst) == handle && mc_vm_asid(w->dst) == asid);
        CHECK(mc_vm_handle(l->dst) == 0 && !mc_vm_dead(l->dst));
        mc_vm_destroy(holder);
        mc_vm_destroy(l->dst);
        holder = w->dst;
    }
    pthread_barrier_destroy(&go);
    check_memory(holder, 0);
    if (getenv("MC_TEST_VERBOSE"))
        fprintf(stderr, "race: the loser found the guest busy in %u of 200 rounds\n", busy);
    mc_vm_destroy(holder);
    for (unsigned i = 1; i < NTHREADS; i++)
        mc_vm_destroy(in[i].vm);
    env_close(&e);
}

static void test_move_es(void) { test_move_from(true); }
static void test_move_sev(void) { test_move_from(false); }
static void test_mirror_sev(void) { test_mirror(false); }
static void test_mirror_es(void) { test_mirror(true); }

int main(void)
{
    for (unsigned i = 0; i < sizeof image; i++)
        image[i] = (uint8_t)(i * 29 + 7);
    RUN(test_move_sev);
    RUN(test_move_es);
    RUN(test_move_parameters);
    RUN(test_mirror_sev);
    RUN(test_mirror_es);
    RUN(test_mirror_parameters);
    RUN(test_move_copy);
    RUN(test_locking);
    return check_summary();
}
