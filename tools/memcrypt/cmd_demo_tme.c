/* memcrypt demo tme | mktme — Intel TME and MKTME, deterministic with --seed.
 *
 * tme:   firmware programs the exclusion range and activates TME; the CPU sees plaintext, DRAM
 *        holds ciphertext (plaintext inside the exclusion range); a privileged attacker replays
 *        an old ciphertext line and the CPU silently reads the old value (no integrity).
 * mktme: PCONFIG programs KeyIDs; two VMs get KeyIDs 1 and 2 through EPT, share KeyID 3, the
 *        hypervisor uses KeyID 0 and sees ciphertext; then the two attacks MKTME does not stop:
 *        replay of an old line, and remapping a VM page to another KeyID; a DMA device reads a
 *        VM page through KeyID 0 and through the VM's KeyID.
 * Every byte shown comes from the library's access paths or the DRAM raw port. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/board.h>
#include <memcrypt/dma.h>
#include <memcrypt/dram.h>
#include <memcrypt/ept.h>
#include <memcrypt/json.h>
#include <memcrypt/machine.h>
#include <memcrypt/pconfig.h>
#include <memcrypt/tme.h>

#include "cli.h"
#include "demo_out.h"
#include "viz.h"
#include <memcrypt/crypto.h>

#define LINE 64
static const uint8_t SECRET_V1[LINE] = "balance: 100 EUR (old, version 1)";
static const uint8_t SECRET_V2[LINE] = "balance: 999999 EUR (new, version 2)";

struct tdemo {
    int json;
    struct mc_json j;
    unsigned n;
    struct mc_board *b;
    struct mc_machine *m; /* the board's */
    struct mc_tme *t;     /* the board's */
    const char *name, *title, *seed;
    struct viz_story pic; /* --html */
};

struct topts {
    const char *seed, *html;
    int json;
};

enum { O_HTML = 1 };

static const struct mc_opt tdemo_opts[] = {
    {"html", 0, "FILE", "also write a picture (one HTML file): physical memory page by page coloured by key\n"
     "domain (KeyIDs), and every observation of the lines side by side", O_HTML, MC_OPT_FILE},
    {0},
};

static int topts_parse(const struct mc_cli_cmd *cmd, int argc, char **argv, struct topts *o)
{
    struct mc_args a;
    int c;
    memset(o, 0, sizeof *o);
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0)
        if (c == O_HTML)
            o->html = a.val;
    if (c < 0)
        return a.rc;
    o->seed = a.seed;
    o->json = a.json;
    return -1;
}

static void t_note(struct tdemo *d, const char *text) { demo_note(d->json, &d->j, &d->pic, text); }

static void t_view(struct tdemo *d, const char *who, const uint8_t *b, const uint8_t *known, const char *known_name)
{
    demo_view(d->json, &d->j, &d->pic, &d->n, who, b, LINE, known, known_name);
}

static void t_msr(struct tdemo *d, const char *what, uint32_t msr, uint64_t val, mc_status s,
                  const struct mc_fault *f)
{
    d->n++;
    if (d->json) {
        mc_json_obj(&d->j, NULL);
        mc_json_str(&d->j, "msr_op", what);
        mc_json_hex64(&d->j, "msr", msr);
        mc_json_hex64(&d->j, "value", val);
        mc_json_str(&d->j, "result", s == MC_OK ? "ok" : (s == MC_E_FAULT && f->kind == MC_FAULT_GP) ? "#GP(0)" : "error");
        mc_json_end(&d->j);
    } else {
        printf("  %2u. %-10s MSR 0x%03x = 0x%016llx  -> %s\n", d->n, what, msr, (unsigned long long)val,
               s == MC_OK ? "ok" : (s == MC_E_FAULT && f->kind == MC_FAULT_GP) ? "#GP(0)" : "error");
    }
}

static void t_snp(struct tdemo *d, const char *text)
{
    if (d->json) {
        mc_json_obj(&d->j, NULL);
        mc_json_str(&d->j, "sev_snp", text);
        mc_json_end(&d->j);
    } else {
        printf("      SEV-SNP, same step: %s\n", text);
    }
}

static int t_begin(struct tdemo *d, const struct topts *o, const char *name, const char *title, int tme_bios,
                   struct mc_error *err)
{
    memset(d, 0, sizeof *d);
    d->json = o->json;
    d->name = name;
    d->title = title;
    d->seed = o->seed;
    d->pic.path = o->html;
    struct mc_board_config cfg;
    if (mc_board_config_init(&cfg, "icelake-sp", err) != MC_OK)
        return -1;
    cfg.machine.dram_size = 32u << 20;
    if (o->seed) {
        cfg.machine.seed = (const uint8_t *)o->seed;
        cfg.machine.seed_len = strlen(o->seed);
    }
    cfg.machine.bios.tme = tme_bios;
    if (!tme_bios)
        cfg.machine.bios.keyid_bits = 0;
    if (mc_board_create(&cfg, &d->b, err) != MC_OK)
        return -1;
    d->m = mc_board_machine(d->b);
    d->t = mc_board_tme(d->b);
    if (d->pic.path)
        memctl_set_write_observer(mc_machine_memctl(d->m), viz_map_observe, &d->pic.map);
    demo_begin(d->json, &d->j, name, cfg.machine.platform, o->seed, title);
    return 0;
}

static int t_fail(struct tdemo *d, const char *path, struct mc_error *e);

static void t_end(struct tdemo *d)
{
    mc_board_destroy(d->b);
    viz_story_free(&d->pic);
}

/* --html: the picture, before the JSON object is closed (a failure goes into it). */
static int t_picture(struct tdemo *d, const char *path, const char *conclusion)
{
    char title[160], sub[160];
    struct mc_error e;
    snprintf(title, sizeof title, "memcrypt demo %s: %s", d->name, d->title);
    snprintf(sub, sizeof sub, "platform icelake-sp, %s", d->seed ? "deterministic keys (--seed)" : "fresh random keys");
    if (viz_story_write(&d->pic, title, sub, conclusion, &e) == MC_OK)
        return 0;
    return t_fail(d, path, &e);
}

static int t_fail(struct tdemo *d, const char *path, struct mc_error *e)
{
    int rc = d->json ? mc_cli_json_fail(&d->j, path, e) : mc_cli_fail(path, e);
    t_end(d);
    return rc;
}

#define TRY(expr)                                                                                                      \
    do {                                                                                                               \
        if ((expr) != MC_OK)                                                                                           \
            return t_fail(&d, argv[0], &e);                                                                            \
    } while (0)

/* ----------------------------------------------------------------- demo tme -- */

static int run_demo_tme(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct topts o;
    int r = topts_parse(cmd, argc, argv, &o);
    if (r >= 0)
        return r;
    struct tdemo d;
    struct mc_error e;
    if (t_begin(&d, &o, "tme", "one platform key for all memory, and no integrity", 0, &e))
        return mc_cli_fail(argv[0], &e);
    struct mc_fault f;
    uint8_t b[LINE];
    struct mc_dram *dram = mc_machine_dram(d.m);
    const uint64_t pa = 0x200000, pa_ex = 0x300000;

    t_note(&d, "Firmware programs the TME MSRs (exclusion range first: it locks with TME_ACTIVATE):");
    const uint64_t mask = (((1ull << 46) - 1) & ~0xFFFull & ~((1ull << 20) - 1)) | MC_TME_EXCL_ENABLE;
    mc_status s = mc_machine_wrmsr(d.m, MC_MSR_IA32_TME_EXCLUDE_MASK, mask, &f, &e);
    t_msr(&d, "WRMSR", MC_MSR_IA32_TME_EXCLUDE_MASK, mask, s, &f);
    s = mc_machine_wrmsr(d.m, MC_MSR_IA32_TME_EXCLUDE_BASE, pa_ex, &f, &e);
    t_msr(&d, "WRMSR", MC_MSR_IA32_TME_EXCLUDE_BASE, pa_ex, s, &f);
    const uint64_t act = MC_TME_ACT_ENABLE; /* new key, AES-XTS-128, no MKTME */
    s = mc_machine_wrmsr(d.m, MC_MSR_IA32_TME_ACTIVATE, act, &f, &e);
    t_msr(&d, "WRMSR", MC_MSR_IA32_TME_ACTIVATE, act, s, &f);
    TRY(s);
    uint64_t v = 0;
    TRY(mc_machine_rdmsr(d.m, MC_MSR_IA32_TME_ACTIVATE, &v, &f, &e));
    t_msr(&d, "RDMSR", MC_MSR_IA32_TME_ACTIVATE, v, MC_OK, &f);
    t_note(&d, "Read back ...011b: locked and enabled with a fresh random key. A second write faults:");
    s = mc_machine_wrmsr(d.m, MC_MSR_IA32_TME_ACTIVATE, act, &f, &e);
    t_msr(&d, "WRMSR", MC_MSR_IA32_TME_ACTIVATE, act, s, &f);

    t_note(&d, "\nThe CPU writes a line; the CPU reads it back; the DRAM chips hold ciphertext:");
    TRY(mc_machine_phys_write(d.m, pa, SECRET_V1, LINE, &f, &e));
    TRY(mc_machine_wbinvd(d.m, &e));
    TRY(mc_machine_phys_read(d.m, pa, b, LINE, &f, &e));
    t_view(&d, "CPU reads PA 0x200000", b, SECRET_V1, "version 1");
    uint8_t old_ct[LINE];
    TRY(mc_dram_read(dram, pa, old_ct, LINE, &e));
    t_view(&d, "DRAM raw port at 0x200000 (bus snooper)", old_ct, SECRET_V1, "version 1");
    t_note(&d, "Inside the exclusion range (1 MiB at 0x300000) KeyID 0 is not encrypted:");
    TRY(mc_machine_phys_write(d.m, pa_ex, SECRET_V1, LINE, &f, &e));
    TRY(mc_machine_wbinvd(d.m, &e));
    TRY(mc_dram_read(dram, pa_ex, b, LINE, &e));
    t_view(&d, "DRAM raw port at 0x300000", b, SECRET_V1, "version 1");

    t_note(&d, "\nReplay: the attacker saved the ciphertext above. Software writes version 2; the\n"
               "attacker puts the old ciphertext back on the DRAM raw port; the CPU reads:");
    TRY(mc_machine_phys_write(d.m, pa, SECRET_V2, LINE, &f, &e));
    TRY(mc_machine_wbinvd(d.m, &e));
    TRY(mc_machine_phys_read(d.m, pa, b, LINE, &f, &e));
    t_view(&d, "CPU reads PA 0x200000 (after the update)", b, SECRET_V2, "version 2");
    TRY(mc_machine_wbinvd(d.m, &e)); /* the line leaves the cache, so the next read goes to DRAM */
    TRY(mc_dram_write(dram, pa, old_ct, LINE, &e));
    TRY(mc_machine_phys_read(d.m, pa, b, LINE, &f, &e));
    bool replayed = !memcmp(b, SECRET_V1, LINE);
    t_view(&d, "CPU reads PA 0x200000 (after the replay)", b, SECRET_V1, "version 1");
    t_note(&d, replayed ? "  -> the old value came back and nothing noticed: TME has no integrity or freshness."
                        : "  -> the replay did not take effect.");
    t_snp(&d, "a hypervisor write into a guest-owned page fails the RMP check (#PF with bit 31); a replay on the "
              "DRAM bus itself is outside SNP's protection too (memcrypt demo snp shows both).");
    if (t_picture(&d, argv[0], "TME encrypts all memory with one key and checks nothing: an old ciphertext line "
                               "written back decrypts to the old value."))
        return MC_EXIT_ERROR;
    if (d.json) {
        mc_json_end(&d.j);
        mc_json_bool(&d.j, "replay_undetected", replayed);
        mc_json_finish(&d.j);
    }
    t_end(&d);
    return MC_EXIT_OK;
}

/* --------------------------------------------------------------- demo mktme -- */

static mc_status prog(struct tdemo *d, uint16_t keyid, uint8_t cmd, uint64_t *rax, struct mc_error *e)
{
    struct mc_mktme_key_program kp;
    memset(&kp, 0, sizeof kp);
    kp.keyid = keyid;
    kp.command = cmd;
    kp.alg = MC_MKTME_ALG_AES_XTS_128;
    for (int i = 0; i < 16; i++) { /* software entropy mixed into the CPU's random keys */
        kp.key_field_1[i] = (uint8_t)(0x5A ^ (keyid * 16 + i));
        kp.key_field_2[i] = (uint8_t)(0xC3 ^ (keyid * 16 + i));
    }
    uint8_t raw[MC_MKTME_KP_SIZE];
    mc_mktme_kp_encode(&kp, raw);
    struct mc_fault f;
    const uint64_t kp_pa = 0xF000;
    mc_status s = mc_machine_phys_write(d->m, kp_pa, raw, sizeof raw, &f, e);
    mc_wipe(raw, sizeof raw);
    if (s != MC_OK)
        return s;
    struct mc_pconfig_cpu cpu;
    memset(&cpu, 0, sizeof cpu);
    cpu.rbx = kp_pa;
    struct mc_tme_event ev;
    s = mc_board_pconfig(d->b, &cpu, &ev, e);
    if (s != MC_OK)
        return s;
    *rax = cpu.rax;
    char line[160];
    snprintf(line, sizeof line, "  PCONFIG MKTME_KEY_PROGRAM KeyID %u %s -> RAX %llu (%s), ZF %d", keyid,
             cmd == MC_PCONFIG_KEYID_SET_KEY_RANDOM ? "SET_KEY_RANDOM" : "SET_KEY_DIRECT",
             (unsigned long long)cpu.rax, mc_pconfig_status_name(cpu.rax), (cpu.rflags & MC_RFLAGS_ZF) ? 1 : 0);
    t_note(d, line);
    return MC_OK;
}

static int run_demo_mktme(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct topts o;
    int r = topts_parse(cmd, argc, argv, &o);
    if (r >= 0)
        return r;
    struct tdemo d;
    struct mc_error e;
    if (t_begin(&d, &o, "mktme", "KeyIDs per VM through EPT, and what no integrity means", 1, &e))
        return mc_cli_fail(argv[0], &e);
    struct mc_fault f;
    uint8_t b[LINE];
    struct mc_dram *dram = mc_machine_dram(d.m);
    uint64_t v = 0, rax = 0;
    TRY(mc_machine_rdmsr(d.m, MC_MSR_IA32_TME_ACTIVATE, &v, &f, &e));
    t_msr(&d, "RDMSR", MC_MSR_IA32_TME_ACTIVATE, v, MC_OK, &f);
    char line[200];
    snprintf(line, sizeof line,
             "BIOS left TME locked+enabled with MK_TME_KEYID_BITS = %u: KeyID = PA bits %u:%u, KeyIDs 1..%u usable.",
             mc_tme_keyid_bits(d.t), mc_tme_get_config(d.t)->maxphyaddr - 1, mc_tme_keyid_shift(d.t),
             mc_tme_num_keyids(d.t));
    t_note(&d, line);
    t_note(&d, "\nThe VMM programs keys (CPU random key XOR software entropy):");
    for (uint16_t k = 1; k <= 3; k++)
        TRY(prog(&d, k, MC_PCONFIG_KEYID_SET_KEY_RANDOM, &rax, &e));
    TRY(prog(&d, 0, MC_PCONFIG_KEYID_SET_KEY_RANDOM, &rax, &e));
    t_note(&d, "  (KeyID 0 is the TME key and cannot be programmed.)");

    struct mc_ept *vm1 = NULL, *vm2 = NULL;
    TRY(mc_ept_create(d.m, d.t, 0x100000, 32, &vm1, &e));
    if (mc_ept_create(d.m, d.t, 0x120000, 32, &vm2, &e) != MC_OK) {
        mc_ept_destroy(vm1);
        return t_fail(&d, argv[0], &e);
    }
    const uint64_t g_priv = 0x1000, g_shared = 0x100000;
    const uint64_t h_vm1 = 0x400000, h_vm1_other = 0x401000, h_vm2 = 0x800000, h_shared = 0xC00000;
    mc_status s = MC_OK;
    const uint64_t rwx = MC_EPT_R | MC_EPT_W | MC_EPT_X;
    if (!s) s = mc_ept_map(vm1, g_priv, h_vm1, 1, rwx, &e);
    if (!s) s = mc_ept_map(vm2, g_priv, h_vm2, 2, rwx, &e);
    if (!s) s = mc_ept_map(vm1, g_shared, h_shared, 3, MC_EPT_R | MC_EPT_W, &e);
    if (!s) s = mc_ept_map(vm2, g_shared, h_shared, 3, MC_EPT_R | MC_EPT_W, &e);
#define TRYV(expr)                                                                                                     \
    do {                                                                                                               \
        if ((s = (expr)) != MC_OK)                                                                                     \
            goto fail;                                                                                                 \
    } while (0)
    if (s)
        goto fail;
    t_note(&d, "\nLayout (EPT leaf entries carry the KeyID; guest page tables carry none):\n"
               "  VM1  GPA 0x1000   -> HPA 0x400000 KeyID 1 (private)\n"
               "  VM2  GPA 0x1000   -> HPA 0x800000 KeyID 2 (private)\n"
               "  both GPA 0x100000 -> HPA 0xC00000 KeyID 3 (shared)\n"
               "  hypervisor: KeyID 0 (the TME key)\n");
    TRYV(mc_ept_write(vm1, g_priv, SECRET_V1, LINE, &f, &e));
    TRYV(mc_ept_read(vm1, g_priv, b, LINE, &f, &e));
    t_view(&d, "VM1 reads its GPA 0x1000", b, SECRET_V1, "VM1's secret");
    TRYV(mc_machine_wbinvd(d.m, &e));
    TRYV(mc_machine_phys_read(d.m, h_vm1, b, LINE, &f, &e));
    t_view(&d, "hypervisor reads HPA 0x400000 via KeyID 0", b, SECRET_V1, "VM1's secret");
    uint8_t old_ct[LINE];
    TRYV(mc_dram_read(dram, h_vm1, old_ct, LINE, &e));
    t_view(&d, "DRAM raw port at 0x400000", old_ct, SECRET_V1, "VM1's secret");
    TRYV(mc_ept_read(vm2, g_priv, b, LINE, &f, &e));
    t_view(&d, "VM2 reads its GPA 0x1000 (its own page)", b, SECRET_V1, "VM1's secret");
    uint64_t hpa;
    s = mc_ept_translate(vm2, g_priv | (1ull << mc_tme_keyid_shift(d.t)), 0, &hpa, &f, &e);
    t_note(&d, s == MC_E_FAULT ? "  VM2 puts 'KeyID 1' into a GPA: just an unmapped GPA -> EPT violation."
                               : "  (unexpected: the GPA translated)");
    static const uint8_t MSG[LINE] = "shared ring: hello VM2, from VM1";
    TRYV(mc_ept_write(vm1, g_shared, MSG, LINE, &f, &e));
    TRYV(mc_ept_read(vm2, g_shared, b, LINE, &f, &e));
    t_view(&d, "VM2 reads the shared page (KeyID 3)", b, MSG, "VM1's message");

    /* DMA: a device puts the KeyID into its bus address like the CPU does. */
    snprintf(line, sizeof line,
             "\nA DMA device (64-bit mask) reads VM1's page at HPA 0x400000; the KeyID is bus-address bits %u:%u:",
             mc_tme_get_config(d.t)->maxphyaddr - 1, mc_tme_keyid_shift(d.t));
    t_note(&d, line);
    struct mc_dma_port dev, dev_narrow;
    TRYV(mc_dma_init(&dev, mc_machine_memctl(d.m), 64, &e));
    TRYV(mc_dma_init(&dev_narrow, mc_machine_memctl(d.m), mc_tme_keyid_shift(d.t), &e));
    uint64_t bus_k1 = 0;
    TRYV(mc_tme_pa_compose(d.t, h_vm1, 1, &bus_k1, &e));
    TRYV(mc_dma_read(&dev, h_vm1, b, LINE, &f, &e));
    bool dma_k0_secret = !memcmp(b, SECRET_V1, LINE);
    t_view(&d, "device reads bus 0x400000 (KeyID 0, TME key)", b, SECRET_V1, "VM1's secret");
    TRYV(mc_dma_read(&dev, bus_k1, b, LINE, &f, &e));
    bool dma_k1_secret = !memcmp(b, SECRET_V1, LINE);
    snprintf(line, sizeof line, "device reads bus 0x%llx (KeyID 1)", (unsigned long long)bus_k1);
    t_view(&d, line, b, SECRET_V1, "VM1's secret");
    s = mc_dma_read(&dev_narrow, bus_k1, b, LINE, &f, &e);
    if (s != MC_OK && s != MC_E_RANGE)
        goto fail;
    snprintf(line, sizeof line, "  A device with a %u-bit DMA mask cannot emit KeyID bits (highest KeyID %u): %s",
             mc_tme_keyid_shift(d.t), mc_dma_max_keyid(&dev_narrow),
             s == MC_E_RANGE ? "its KeyID-1 read is refused." : "(unexpected: the read went through)");
    t_note(&d, line);
    s = MC_OK;
    t_note(&d, "  -> a device assigned to VM1 must be given VM1's KeyID; through KeyID 0 it sees only\n"
               "     ciphertext decrypted with the wrong key. Nothing stops any device that can emit the\n"
               "     KeyID bits (no IOMMU modelled).");

    t_note(&d, "\nAttack 1 — replay. The attacker saved VM1's ciphertext above; VM1 updates its line;\n"
               "the attacker writes the old ciphertext back through the DRAM raw port:");
    TRYV(mc_ept_write(vm1, g_priv, SECRET_V2, LINE, &f, &e));
    TRYV(mc_machine_wbinvd(d.m, &e));
    TRYV(mc_dram_write(dram, h_vm1, old_ct, LINE, &e));
    TRYV(mc_ept_read(vm1, g_priv, b, LINE, &f, &e));
    bool replayed = !memcmp(b, SECRET_V1, LINE);
    t_view(&d, "VM1 reads its GPA 0x1000", b, SECRET_V1, "the OLD secret (version 1)");
    t_note(&d, replayed ? "  -> VM1 silently got the old value back: no integrity, no freshness."
                        : "  -> the replay did not take effect.");
    t_snp(&d, "the hypervisor cannot write a guest-owned page (host write -> #PF with bit 31, the RMP check); "
              "physical replay on the DRAM bus is outside SNP's protection as well (memcrypt demo snp, attack 1).");

    t_note(&d, "\nAttack 2 — remap. The hypervisor points VM1's GPA 0x1000 at the same host page\n"
               "with KeyID 2 (VM2's key), then at another host page of VM1's:");
    TRYV(mc_ept_write(vm1, g_priv, SECRET_V2, LINE, &f, &e));
    TRYV(mc_machine_wbinvd(d.m, &e));
    TRYV(mc_ept_map(vm1, g_priv, h_vm1, 2, rwx, &e));
    s = mc_ept_read(vm1, g_priv, b, LINE, &f, &e);
    bool remap_silent = s == MC_OK;
    if (s != MC_OK && s != MC_E_FAULT)
        goto fail;
    t_view(&d, "VM1 reads GPA 0x1000 (now KeyID 2)", b, SECRET_V2, "VM1's secret");
    t_note(&d, remap_silent ? "  -> no fault: VM1 just reads garbage (its data decrypted with the wrong key)."
                            : "  -> the access faulted.");
    t_snp(&d, "the RMP check stops this: #NPF with the RMP bit (memcrypt demo snp, attacks 2 and 3).");
    TRYV(mc_ept_map(vm1, 0x2000, h_vm1_other, 1, rwx, &e));
    TRYV(mc_ept_write(vm1, 0x2000, SECRET_V1, LINE, &f, &e));
    TRYV(mc_ept_map(vm1, g_priv, h_vm1_other, 1, rwx, &e));
    TRYV(mc_ept_read(vm1, g_priv, b, LINE, &f, &e));
    bool swapped = !memcmp(b, SECRET_V1, LINE);
    t_view(&d, "VM1 reads GPA 0x1000 (now VM1's other page)", b, SECRET_V1, "a different page's data");
    t_note(&d, swapped ? "  -> VM1 silently sees another page's plaintext: MKTME binds keys to KeyIDs, not pages."
                       : "  -> the swap did not take effect.");
    t_snp(&d, "the RMP check stops this: #NPF with the RMP bit (memcrypt demo snp, attacks 2 and 3).");
    mc_ept_destroy(vm1);
    mc_ept_destroy(vm2);
    if (t_picture(&d, argv[0], "MKTME gives each VM its own key (KeyID), but binds keys to KeyIDs, not to pages: "
                               "replayed lines and remapped pages go unnoticed."))
        return MC_EXIT_ERROR;
    if (d.json) {
        mc_json_end(&d.j);
        mc_json_bool(&d.j, "replay_undetected", replayed);
        mc_json_bool(&d.j, "remap_keyid_undetected", remap_silent);
        mc_json_bool(&d.j, "remap_page_undetected", swapped);
        mc_json_bool(&d.j, "dma_keyid0_sees_secret", dma_k0_secret);
        mc_json_bool(&d.j, "dma_vm_keyid_sees_secret", dma_k1_secret);
        mc_json_finish(&d.j);
    }
    t_end(&d);
    return MC_EXIT_OK;
fail:
    mc_ept_destroy(vm1);
    mc_ept_destroy(vm2);
    return t_fail(&d, argv[0], &e);
}

const struct mc_cli_cmd mc_cli_demo_tme[] = {
    {.path = "demo tme",
     .summary = "Intel TME: activation MSRs, exclusion range, and a replay TME cannot detect",
     .synopsis = "[--seed S] [--json] [--html FILE]",
     .about = "Firmware programs IA32_TME_EXCLUDE_MASK/BASE and IA32_TME_ACTIVATE on an Ice Lake-SP profile;\n"
              "the CPU reads plaintext while DRAM holds AES-XTS ciphertext (plaintext inside the exclusion\n"
              "range); then an attacker replays an old ciphertext line and the CPU silently reads the old\n"
              "value. --seed makes the keys (and so every byte shown) deterministic.\n",
     .opts = tdemo_opts,
     .common = MC_CO_SEED | MC_CO_JSON,
     .examples = "memcrypt demo tme --seed 1\n",
     .run = run_demo_tme},
    {.path = "demo mktme",
     .summary = "Intel MKTME: PCONFIG keys, KeyIDs per VM through EPT, replay and remap attacks",
     .synopsis = "[--seed S] [--json] [--html FILE]",
     .about = "PCONFIG programs KeyIDs 1-3; VM1 (KeyID 1) and VM2 (KeyID 2) get private memory through EPT and\n"
              "share a page with KeyID 3; the hypervisor (KeyID 0) reads ciphertext, and so does a DMA device\n"
              "through KeyID 0 (through VM1's KeyID it reads the plaintext). Then the two attacks\n"
              "MKTME does not stop: replaying an old ciphertext line, and remapping a VM page to another\n"
              "KeyID or another page — each next to what SEV-SNP's RMP would do.\n",
     .opts = tdemo_opts,
     .common = MC_CO_SEED | MC_CO_JSON,
     .examples = "memcrypt demo mktme --seed 1\n"
                 "d=$(mktemp -d)\n"
                 "memcrypt demo mktme --seed 1 --html $d/mktme.html   # open it in a browser\n",
     .run = run_demo_mktme},
    {0},
};
