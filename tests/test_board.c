/* The board: what each profile's board holds, the host driver's page and the hypervisor's pool,
 * the one mailbox (buffers through DRAM, the failure sentence, limits), WBINVD + DF_FLUSH,
 * PCONFIG on Intel boards, refused configurations, two boards in one process. */
#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/dram.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/vm.h>

#include "check.h"

static struct mc_board *make(const char *platform, const char *seed, void (*tweak)(struct mc_board_config *))
{
    struct mc_board_config c;
    struct mc_error e;
    if (mc_board_config_init(&c, platform, &e) != MC_OK) {
        fprintf(stderr, "config: %s\n", e.msg);
        return NULL;
    }
    c.machine.dram_size = 16ull << 20;
    c.machine.seed = (const uint8_t *)seed;
    c.machine.seed_len = strlen(seed);
    c.fw.root_bits = 2048;
    if (tweak)
        tweak(&c);
    struct mc_board *b = NULL;
    if (mc_board_create(&c, &b, &e) != MC_OK)
        fprintf(stderr, "board: %s\n", e.msg);
    return b;
}

static void test_parts_per_profile(void)
{
    struct mc_board_config c;
    struct mc_error e;
    CHECK(mc_board_config_init(&c, "milan", &e) == MC_OK && c.firmware && c.hypervisor && !c.tme);
    const struct mc_cpu_profile *milan;
    struct mc_cpu_features f;
    CHECK(mc_cpu_profile_find("milan", &milan, NULL) == MC_OK);
    mc_cpu_decode(milan, &f);
    CHECK(c.fw.max_asid == f.max_asid && c.fw.es_supported == f.sev_es && c.fw.api_major == milan->fw_api_major);
    CHECK(c.fw.build == milan->fw_build && c.fw.num_cores == 1 && c.fw.state_path == NULL);
    CHECK(!strcmp(c.machine.platform, "milan") && !strcmp(c.fw.platform, "milan"));
    CHECK(c.pool_base == MC_BOARD_POOL_BASE && c.pool_size == 0 && c.mbox_pa == 0);
    CHECK(mc_board_config_init(&c, "icelake-sp", &e) == MC_OK && !c.firmware && !c.hypervisor && c.tme);
    CHECK(mc_board_config_init(&c, "pentium", &e) == MC_E_NOTFOUND && strstr(e.msg, "milan"));
    CHECK(mc_board_config_init(&c, NULL, &e) == MC_E_INVAL);

    struct mc_board *b = make("rome", "parts", NULL);
    CHECK(b && mc_board_machine(b) && mc_board_psp(b) && mc_board_vmm(b) && !mc_board_tme(b));
    CHECK(b && !strcmp(mc_board_profile(b)->name, "rome") && mc_board_fw_config(b)->root_bits == 2048);
    /* The driver's page is the first page of the pool; the hypervisor allocates after it. */
    uint64_t spa = 0;
    struct mc_error e2;
    CHECK(mc_vmm_alloc(mc_board_vmm(b), 4096, &spa, &e2) == MC_OK && spa == MC_BOARD_POOL_BASE + 4096);
    CHECK_EQ_U64(mc_board_fw_data(b), MC_BOARD_POOL_BASE + MC_BOARD_DATA_OFF);
    CHECK(mc_vmm_machine(mc_board_vmm(b)) == mc_board_machine(b));
    mc_board_destroy(b);

    b = make("sapphire-rapids", "parts", NULL);
    CHECK(b && mc_board_tme(b) && !mc_board_psp(b) && !mc_board_vmm(b) && !mc_board_fw_config(b));
    CHECK(mc_board_fw_data(b) == 0);
    uint64_t v;
    struct mc_fault fault;
    CHECK(mc_machine_rdmsr(mc_board_machine(b), MC_MSR_IA32_TME_ACTIVATE, &v, &fault, NULL) == MC_OK && (v & 3) == 3);
    uint8_t buf[16] = {0};
    uint32_t st = 0;
    CHECK(mc_board_fw(b, MC_SEV_CMD_PLATFORM_STATUS, buf, 12, &st, &e2) == MC_E_UNSUPPORTED && st == 0xFFFF);
    CHECK(strstr(e2.msg, "has no AMD SEV") != NULL);
    mc_board_destroy(b);
    mc_board_destroy(NULL);
}

static void no_fw(struct mc_board_config *c)
{
    c->firmware = false;
    c->hypervisor = false;
}
static void small_dram(struct mc_board_config *c) { c->machine.dram_size = 1ull << 20; }

static void test_optional_parts(void)
{
    struct mc_board *b = make("milan", "opt", no_fw);
    struct mc_error e;
    uint32_t st;
    CHECK(b && !mc_board_psp(b) && !mc_board_vmm(b));
    CHECK(mc_board_fw(b, MC_SEV_CMD_NOP, NULL, 0, &st, &e) == MC_E_UNSUPPORTED && strstr(e.msg, "without"));
    CHECK(mc_board_wbinvd(b, &e) == MC_OK);
    mc_board_destroy(b);
    /* No room for a pool: firmware without hypervisor, the driver's page at 64 KiB. */
    b = make("milan", "opt", small_dram);
    CHECK(b && mc_board_psp(b) && !mc_board_vmm(b));
    CHECK_EQ_U64(mc_board_fw_data(b), MC_BOARD_MBOX_PA + MC_BOARD_DATA_OFF);
    CHECK(mc_board_fw(b, MC_SEV_CMD_NOP, NULL, 0, &st, &e) == MC_OK && st == MC_FW_SUCCESS);
    mc_board_destroy(b);
}

static void mbox_in_pool(struct mc_board_config *c) { c->mbox_pa = MC_BOARD_POOL_BASE + 0x4000; }
static void mbox_unaligned(struct mc_board_config *c) { c->mbox_pa = 0x10800; }
static void mbox_outside(struct mc_board_config *c) { c->mbox_pa = 1ull << 40; }
static void hv_without_fw(struct mc_board_config *c) { c->firmware = false; }
static void tiny_pool(struct mc_board_config *c) { c->pool_size = 0x1000; }
static void bad_dram(struct mc_board_config *c) { c->machine.dram_size = 4097; }
static void bad_fw(struct mc_board_config *c) { c->fw.num_cores = 65; }

static void test_refused_configurations(void)
{
    struct {
        void (*fn)(struct mc_board_config *);
        mc_status want;
    } cases[] = {{mbox_in_pool, MC_E_RANGE}, {mbox_unaligned, MC_E_RANGE}, {mbox_outside, MC_E_RANGE},
                 {hv_without_fw, MC_E_INVAL}, {tiny_pool, MC_E_RANGE},     {bad_dram, MC_E_RANGE},
                 {bad_fw, MC_E_INVAL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mc_board_config c;
        CHECK(mc_board_config_init(&c, "milan", NULL) == MC_OK);
        cases[i].fn(&c);
        struct mc_board *b = (struct mc_board *)&c;
        struct mc_error e = {0};
        mc_status s = mc_board_create(&c, &b, &e);
        CHECK_MSG(s == cases[i].want && b == NULL && e.msg[0], "case %zu: %s: %s", i, mc_status_name(s), e.msg);
    }
    CHECK(mc_board_create(NULL, NULL, NULL) == MC_E_INVAL);
}

/* The mailbox as a host driver drives it: the command buffer lies in the driver's page in DRAM
 * (C=0: the bus sees it as written), results come back in the caller's buffer, a firmware
 * refusal names the command, the status and the reason. */
static void test_mailbox(void)
{
    struct mc_board *b = make("milan", "mbox", NULL);
    CHECK(b != NULL);
    if (!b)
        return;
    struct mc_error e = {0};
    uint32_t st = 0;
    uint8_t ps[sizeof(struct mc_sev_platform_status)];
    memset(ps, 0xAA, sizeof ps);
    CHECK(mc_board_fw(b, MC_SEV_CMD_PLATFORM_STATUS, ps, sizeof ps, &st, &e) == MC_OK && st == MC_FW_SUCCESS);
    CHECK(ps[offsetof(struct mc_sev_platform_status, state)] == MC_SEV_PSTATE_UNINIT);
    CHECK(ps[offsetof(struct mc_sev_platform_status, api_major)] == mc_board_fw_config(b)->api_major);
    CHECK(ps[offsetof(struct mc_sev_platform_status, build)] == mc_board_profile(b)->fw_build);
    /* What DRAM holds at the driver's page after a write-back: the buffer the firmware answered. */
    uint8_t raw[sizeof ps];
    CHECK(mc_board_wbinvd(b, &e) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(mc_board_machine(b)), MC_BOARD_POOL_BASE, raw, sizeof raw, NULL) == MC_OK);
    CHECK_MEM(raw, ps, sizeof ps);

    uint8_t init[sizeof(struct mc_sev_init)] = {0};
    CHECK(mc_board_fw(b, MC_SEV_CMD_INIT, init, sizeof init, &st, &e) == MC_OK);
    CHECK(mc_board_df_flush(b, &st, &e) == MC_OK && st == MC_FW_SUCCESS);
    CHECK(mc_board_fw(b, MC_SEV_CMD_INIT, init, sizeof init, &st, &e) == MC_E_FIRMWARE &&
          st == MC_FW_INVALID_PLATFORM_STATE);
    CHECK(e.code == MC_E_FIRMWARE && e.fw_status == MC_FW_INVALID_PLATFORM_STATE);
    CHECK_MSG(!strncmp(e.msg, "INIT: INVALID_PLATFORM_STATE: ", 30), "%s", e.msg);
    /* Unknown command: the firmware answers, the sentence says so. */
    CHECK(mc_board_fw(b, 0x7FF, NULL, 0, &st, &e) == MC_E_FIRMWARE && st == MC_FW_INVALID_COMMAND &&
          e.fw_status == MC_FW_INVALID_COMMAND);
    CHECK(strstr(e.msg, "UNKNOWN: INVALID_COMMAND") == e.msg);
    /* Limits of the driver itself: no command is issued. */
    static uint8_t big[MC_BOARD_CMD_MAX + 1];
    CHECK(mc_board_fw(b, MC_SEV_CMD_PLATFORM_STATUS, big, sizeof big, &st, &e) == MC_E_INVAL && st == 0xFFFF);
    CHECK(e.code == MC_E_INVAL && e.fw_status == 0); /* a library refusal carries no firmware status */
    CHECK(mc_board_fw(b, MC_SEV_CMD_PLATFORM_STATUS, NULL, 12, &st, &e) == MC_E_INVAL && st == 0xFFFF);
    CHECK(mc_board_fw(NULL, MC_SEV_CMD_NOP, NULL, 0, &st, &e) == MC_E_INVAL);
    CHECK(mc_board_fw(b, MC_SEV_CMD_NOP, NULL, 0, NULL, NULL) == MC_OK);
    /* LAUNCH_START's handle comes back in the caller's buffer. */
    uint8_t ls[sizeof(struct mc_sev_launch_start)] = {0};
    CHECK(mc_board_fw(b, MC_SEV_CMD_LAUNCH_START, ls, sizeof ls, &st, &e) == MC_OK);
    CHECK(mc_le32(ls + offsetof(struct mc_sev_launch_start, handle)) == 1);
    CHECK(mc_psp_platform_state(mc_board_psp(b)) == MC_SEV_PSTATE_WORKING);
    mc_board_destroy(b);
}

/* Two boards with different seeds are two chips; the same seed gives the same chip. */
static void test_two_boards(void)
{
    struct mc_board *a = make("rome", "chip-a", NULL), *b = make("rome", "chip-b", NULL),
                    *c = make("rome", "chip-a", NULL);
    CHECK(a && b && c);
    if (!a || !b || !c)
        return;
    uint8_t id[3][MC_SEV_ID_LEN];
    struct mc_board *bs[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        uint8_t q[sizeof(struct mc_sev_addr_len)] = {0};
        mc_put_le64(q, mc_board_fw_data(bs[i]));
        mc_put_le32(q + 8, MC_SEV_ID_LEN);
        CHECK(mc_board_fw(bs[i], MC_SEV_CMD_GET_ID, q, sizeof q, NULL, NULL) == MC_OK);
        struct mc_fault f;
        CHECK(mc_machine_phys_read(mc_board_machine(bs[i]), mc_board_fw_data(bs[i]), id[i], MC_SEV_ID_LEN, &f,
                                   NULL) == MC_OK);
    }
    CHECK(memcmp(id[0], id[1], MC_SEV_ID_LEN) != 0);
    CHECK_MEM(id[0], id[2], MC_SEV_ID_LEN);
    mc_board_destroy(a);
    mc_board_destroy(b);
    mc_board_destroy(c);
}

/* PCONFIG SET_KEY_RANDOM (AES-XTS-128) for keyid, the structure at 0x3000 (paging off). */
static void random_key(struct mc_board *b, uint16_t keyid)
{
    struct mc_mktme_key_program kp;
    memset(&kp, 0, sizeof kp);
    kp.keyid = keyid;
    kp.command = MC_PCONFIG_KEYID_SET_KEY_RANDOM;
    kp.alg = MC_MKTME_ALG_AES_XTS_128;
    uint8_t raw[MC_MKTME_KP_SIZE];
    mc_mktme_kp_encode(&kp, raw);
    struct mc_fault f;
    CHECK(mc_machine_phys_write(mc_board_machine(b), 0x3000, raw, sizeof raw, &f, NULL) == MC_OK);
    struct mc_pconfig_cpu cpu = {0};
    cpu.rbx = 0x3000;
    struct mc_tme_event ev;
    CHECK(mc_board_pconfig(b, &cpu, &ev, NULL) == MC_OK && cpu.rax == 0);
}

static void test_pconfig(void)
{
    struct mc_board *b = make("icelake-sp", "pconfig", NULL);
    CHECK(b != NULL);
    if (!b)
        return;
    random_key(b, 1);
    struct mc_pconfig_cpu cpu = {0};
    struct mc_tme_event ev;
    enum mc_keyid_mode mode;
    enum mc_cipher ci;
    CHECK(mc_tme_keyid_entry(mc_board_tme(b), 1, &mode, &ci, NULL) == MC_OK && mode == MC_KEYID_MODE_ENCRYPT);
    /* A structure address outside DRAM (paging off: linear = physical) faults. */
    cpu.rbx = 1ull << 60;
    CHECK(mc_board_pconfig(b, &cpu, &ev, NULL) == MC_E_FAULT);
    CHECK(mc_board_pconfig(NULL, &cpu, &ev, NULL) == MC_E_INVAL);
    mc_board_destroy(b);
}

/* ---- snapshots ---------------------------------------------------------------------------- */

/* INIT, a VM launched with 8 KiB, its MEASURE; *asid and *slot: its ASID and the engine slot
 * holding its key. */
static void launch_and_measure(struct mc_board *b, uint8_t meas[0x30], uint32_t *asid, mc_slot *slot)
{
    uint8_t init[sizeof(struct mc_sev_init)] = {0};
    struct mc_error e;
    CHECK(mc_board_fw(b, MC_SEV_CMD_INIT, init, sizeof init, NULL, &e) == MC_OK);
    CHECK(mc_board_df_flush(b, NULL, &e) == MC_OK);
    struct mc_vm_config vc = {.vcpus = 1, .mem_size = 2ull << 20, .policy = MC_SEV_POLICY_NODBG};
    struct mc_vm *vm = NULL;
    CHECK_MSG(mc_vm_create(mc_board_vmm(b), &vc, &vm, NULL, &e) == MC_OK, "%s", e.msg);
    static uint8_t img[8192];
    for (size_t i = 0; i < sizeof img; i++)
        img[i] = (uint8_t)(i * 7);
    CHECK(mc_vm_launch_update(vm, 0, img, sizeof img, 4096, NULL, NULL, &e) == MC_OK);
    CHECK(mc_vm_launch_measure(vm, meas, &e) == MC_OK); /* MNONCE comes from the DRBG */
    *asid = mc_vm_asid(vm);
    *slot = memctl_asid_slot(mc_machine_memctl(mc_board_machine(b)), *asid);
    mc_vm_destroy(vm);
}

/* A launch after a restore is the launch after the snapshot, byte for byte: firmware state,
 * DRAM, cache, key slots, ASIDs and the DRBG all came back. */
static void test_snapshot_restores_everything(void)
{
    struct mc_board *b = make("milan", "snap", NULL);
    CHECK(b != NULL);
    if (!b)
        return;
    struct mc_machine *m = mc_board_machine(b);
    struct mc_fault f;
    const char before[64] = "written with the host key before the snapshot, in the cache";
    const uint64_t C = mc_machine_enc_bit(m);
    CHECK(mc_machine_phys_write(m, C | 0x30000, before, 64, &f, NULL) == MC_OK);
    struct mc_board_snapshot *s = NULL;
    struct mc_error e;
    CHECK(mc_board_snapshot(b, &s, &e) == MC_OK && s);
    uint64_t touched = mc_dram_frames_touched(mc_machine_dram(m));
    unsigned slots = mc_engine_slots_used(mc_machine_engine(m));
    uint8_t id0[32];
    CHECK(mc_psp_snapshot(mc_board_psp(b), id0, NULL) == MC_OK);

    uint8_t m1[0x30], m2[0x30];
    uint32_t a1 = 0, a2 = 0;
    mc_slot k1 = 0, k2 = 0;
    launch_and_measure(b, m1, &a1, &k1);
    CHECK(mc_machine_phys_write(m, C | 0x30000, "overwritten", 12, &f, NULL) == MC_OK);
    CHECK(mc_board_restore(b, s, &e) == MC_OK);
    uint8_t id1[32], back[64];
    CHECK(mc_psp_snapshot(mc_board_psp(b), id1, NULL) == MC_OK);
    CHECK_MEM(id0, id1, 32);
    CHECK(mc_psp_platform_state(mc_board_psp(b)) == MC_SEV_PSTATE_UNINIT && mc_psp_guest_count(mc_board_psp(b)) == 0);
    CHECK_EQ_U64(mc_dram_frames_touched(mc_machine_dram(m)), touched);
    CHECK(mc_engine_slots_used(mc_machine_engine(m)) == slots);
    CHECK(mc_machine_phys_read(m, C | 0x30000, back, 64, &f, NULL) == MC_OK);
    CHECK_MEM(back, before, 64);
    launch_and_measure(b, m2, &a2, &k2);
    CHECK_MEM(m1, m2, 0x30); /* same MNONCE: the DRBG was rewound */
    CHECK(a1 == a2 && a1 != 0);
    CHECK(k1 == k2 && k1 != 0); /* the same slot handle: the engine's slot table came back */
    /* A snapshot is restored any number of times. */
    CHECK(mc_board_restore(b, s, &e) == MC_OK);
    launch_and_measure(b, m2, &a2, &k2);
    CHECK_MEM(m1, m2, 0x30);
    CHECK(k1 == k2);
    mc_board_snapshot_free(s);
    mc_board_destroy(b);
}

/* The identity is state too: PEK_GEN after the snapshot is undone by the restore. */
static void test_snapshot_identity(void)
{
    struct mc_board *b = make("rome", "snap-id", NULL);
    CHECK(b != NULL);
    if (!b)
        return;
    struct mc_machine *m = mc_board_machine(b);
    uint8_t init[sizeof(struct mc_sev_init)] = {0};
    CHECK(mc_board_fw(b, MC_SEV_CMD_INIT, init, sizeof init, NULL, NULL) == MC_OK);
    uint8_t q[sizeof(struct mc_sev_pdh_cert_export)];
    uint8_t pdh0[MC_SEV_CERT_LEN], pdh1[MC_SEV_CERT_LEN], pdh2[MC_SEV_CERT_LEN];
    uint8_t *pdh[3] = {pdh0, pdh1, pdh2};
    struct mc_board_snapshot *s = NULL;
    for (int i = 0; i < 3; i++) {
        memset(q, 0, sizeof q);
        mc_put_le64(q + offsetof(struct mc_sev_pdh_cert_export, pdh_paddr), 0x40000);
        mc_put_le32(q + offsetof(struct mc_sev_pdh_cert_export, pdh_len), MC_SEV_CERT_LEN);
        mc_put_le64(q + offsetof(struct mc_sev_pdh_cert_export, chain_paddr), 0x42000);
        mc_put_le32(q + offsetof(struct mc_sev_pdh_cert_export, chain_len), MC_SEV_CHAIN_LEN);
        CHECK(mc_board_fw(b, MC_SEV_CMD_PDH_CERT_EXPORT, q, sizeof q, NULL, NULL) == MC_OK);
        struct mc_fault f;
        CHECK(mc_machine_phys_read(m, 0x40000, pdh[i], MC_SEV_CERT_LEN, &f, NULL) == MC_OK);
        if (i == 0) {
            CHECK(mc_board_snapshot(b, &s, NULL) == MC_OK);
            CHECK(mc_board_fw(b, MC_SEV_CMD_PEK_GEN, NULL, 0, NULL, NULL) == MC_OK);
        } else if (i == 1) {
            CHECK(mc_board_restore(b, s, NULL) == MC_OK);
        }
    }
    CHECK(memcmp(pdh0, pdh1, MC_SEV_CERT_LEN) != 0); /* PEK_GEN made a new PDH */
    CHECK_MEM(pdh0, pdh2, MC_SEV_CERT_LEN);           /* the restore brought the old one back */
    mc_board_snapshot_free(s);
    mc_board_destroy(b);
}

/* Restoring an older snapshot than the latest one compares every DRAM frame. */
static void test_snapshot_order(void)
{
    struct mc_board *b = make("milan", "snap-order", no_fw);
    CHECK(b != NULL);
    if (!b)
        return;
    struct mc_dram *d = mc_machine_dram(mc_board_machine(b));
    struct mc_board_snapshot *a = NULL, *c = NULL;
    uint8_t x[16], want[16];
    CHECK(mc_dram_write(d, 0x5000, "AAAA", 4, NULL) == MC_OK);
    CHECK(mc_board_snapshot(b, &a, NULL) == MC_OK);
    CHECK(mc_dram_write(d, 0x5000, "BBBB", 4, NULL) == MC_OK && mc_dram_write(d, 0x9000, "b", 1, NULL) == MC_OK);
    CHECK(mc_board_snapshot(b, &c, NULL) == MC_OK);
    CHECK(mc_dram_write(d, 0x5000, "CCCC", 4, NULL) == MC_OK && mc_dram_write(d, 0xA000, "c", 1, NULL) == MC_OK);
    CHECK(mc_board_restore(b, a, NULL) == MC_OK);
    CHECK(mc_dram_read(d, 0x5000, x, 4, NULL) == MC_OK && !memcmp(x, "AAAA", 4));
    CHECK(mc_dram_frame(d, 9, false) == NULL && mc_dram_frame(d, 10, false) == NULL);
    CHECK(mc_board_restore(b, c, NULL) == MC_OK);
    CHECK(mc_dram_read(d, 0x5000, x, 4, NULL) == MC_OK && !memcmp(x, "BBBB", 4));
    memset(want, 0, sizeof want);
    want[0] = 'b';
    CHECK(mc_dram_read(d, 0x9000, x, 16, NULL) == MC_OK && !memcmp(x, want, 16));
    CHECK(mc_dram_frame(d, 10, false) == NULL && mc_dram_frames_touched(d) == 2);
    mc_board_snapshot_free(a);
    mc_board_snapshot_free(c);
    mc_board_destroy(b);
}

static void test_snapshot_tme(void)
{
    struct mc_board *b = make("sapphire-rapids", "snap-tme", NULL);
    CHECK(b != NULL);
    if (!b)
        return;
    struct mc_board_snapshot *s = NULL;
    CHECK(mc_board_snapshot(b, &s, NULL) == MC_OK);
    unsigned slots = mc_engine_slots_used(mc_machine_engine(mc_board_machine(b)));
    random_key(b, 3);
    enum mc_keyid_mode mode;
    enum mc_cipher ci;
    CHECK(mc_tme_keyid_entry(mc_board_tme(b), 3, &mode, &ci, NULL) == MC_OK && mode == MC_KEYID_MODE_ENCRYPT);
    CHECK(mc_engine_slots_used(mc_machine_engine(mc_board_machine(b))) == slots + 1);
    CHECK(mc_board_restore(b, s, NULL) == MC_OK);
    CHECK(mc_tme_keyid_entry(mc_board_tme(b), 3, &mode, &ci, NULL) == MC_OK && mode == MC_KEYID_MODE_TME);
    CHECK(mc_engine_slots_used(mc_machine_engine(mc_board_machine(b))) == slots);
    mc_board_snapshot_free(s);
    mc_board_destroy(b);
}

static void with_state(struct mc_board_config *c) { c->fw.state_path = MC_BINARY_DIR "/test_board.state"; }
static void with_file(struct mc_board_config *c)
{
    c->machine.dram_file = MC_BINARY_DIR "/test_board.dram";
    c->firmware = c->hypervisor = false;
}

static void test_snapshot_refusals(void)
{
    struct mc_board_snapshot *s = NULL;
    struct mc_error e;
    struct mc_board *b = make("rome", "refuse", with_state);
    CHECK(b && mc_board_snapshot(b, &s, &e) == MC_E_UNSUPPORTED && s == NULL && strstr(e.msg, "state file"));
    mc_board_destroy(b);
    remove(MC_BINARY_DIR "/test_board.state");
    b = make("rome", "refuse", with_file);
    CHECK(b && mc_board_snapshot(b, &s, &e) == MC_E_UNSUPPORTED && s == NULL && strstr(e.msg, "file-backed"));
    mc_board_destroy(b);
    remove(MC_BINARY_DIR "/test_board.dram");
    /* VMs alive: neither a snapshot nor a restore. */
    b = make("milan", "refuse", NULL);
    struct mc_board *other = make("milan", "refuse", NULL);
    CHECK(b && other && mc_board_snapshot(b, &s, &e) == MC_OK);
    uint8_t init[sizeof(struct mc_sev_init)] = {0};
    CHECK(mc_board_fw(b, MC_SEV_CMD_INIT, init, sizeof init, NULL, NULL) == MC_OK);
    struct mc_vm_config vc = {.vcpus = 1, .mem_size = 2ull << 20, .policy = 0};
    struct mc_vm *vm = NULL;
    CHECK(mc_vm_create(mc_board_vmm(b), &vc, &vm, NULL, &e) == MC_OK);
    struct mc_board_snapshot *s2 = NULL;
    CHECK(mc_board_snapshot(b, &s2, &e) == MC_E_STATE && s2 == NULL);
    CHECK(mc_board_restore(b, s, &e) == MC_E_STATE);
    CHECK(mc_psp_guest_count(mc_board_psp(b)) == 1); /* refused: nothing restored */
    mc_vm_destroy(vm);
    CHECK(mc_board_restore(other, s, &e) == MC_E_INVAL);
    CHECK(mc_board_restore(b, s, &e) == MC_OK && mc_psp_platform_state(mc_board_psp(b)) == MC_SEV_PSTATE_UNINIT);
    CHECK(mc_board_snapshot(NULL, &s2, &e) == MC_E_INVAL && mc_board_restore(b, NULL, &e) == MC_E_INVAL);
    mc_board_snapshot_free(s);
    mc_board_snapshot_free(NULL);
    mc_board_destroy(b);
    mc_board_destroy(other);
}

int main(void)
{
    RUN(test_parts_per_profile);
    RUN(test_optional_parts);
    RUN(test_refused_configurations);
    RUN(test_mailbox);
    RUN(test_two_boards);
    RUN(test_pconfig);
    RUN(test_snapshot_restores_everything);
    RUN(test_snapshot_identity);
    RUN(test_snapshot_order);
    RUN(test_snapshot_tme);
    RUN(test_snapshot_refusals);
    return check_summary();
}
