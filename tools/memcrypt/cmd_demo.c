/* memcrypt demo sme | tsme | cold-boot | cache-alias — short, deterministic (--seed) stories
 * of what the CPU reads, what the DRAM bus holds, what a DMA device sees, and what a reset
 * does. Every byte shown comes through the library's one access path or the DRAM raw port. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memcrypt/board.h>
#include <memcrypt/dma.h>
#include <memcrypt/json.h>
#include <memcrypt/machine.h>

#include "cli.h"
#include "viz.h"

#define SECRET_LEN 32
static const uint8_t SECRET[SECRET_LEN] = "TOP SECRET: launch code 0000-42";

#define VA_ENC 0x400000ull   /* mapped with C=1 (when the platform has one) */
#define VA_PLAIN 0x500000ull /* alias of the same frame with C=0 */
#define VA_GUEST 0x600000ull /* host mapping of the guest page (C=1), for VM_PAGE_FLUSH */
#define PA_DATA 0x200000ull
#define PA_GUEST 0x210000ull
#define PA_CLEAR 0x300000ull
#define PA_BOUNCE 0x10000ull

struct demo {
    const char *name, *platform, *seed, *title;
    int json;
    struct mc_json j;
    unsigned n;
    struct viz_story pic; /* --html */
};

struct opts {
    const char *platform, *seed, *dram_file, *html;
    int json;
};

enum { O_DRAM_FILE = 1, O_HTML };

#define HTML_OPT                                                                                                       \
    {"html", 0, "FILE", "also write a picture (one HTML file): physical memory page by page coloured by key\n"      \
     "domain, and every observation of the secret's line side by side", O_HTML, MC_OPT_FILE}

static const struct mc_opt demo_opts[] = {HTML_OPT, {0}};
static const struct mc_opt cold_boot_opts[] = {
    {"dram-file", 0, "FILE", "keep the DRAM image in FILE (default: a temporary file, removed)", O_DRAM_FILE,
     MC_OPT_FILE},
    HTML_OPT,
    {0},
};

static int parse(const struct mc_cli_cmd *cmd, int argc, char **argv, struct opts *o)
{
    struct mc_args a;
    int c;
    memset(o, 0, sizeof *o);
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0) {
        if (c == O_DRAM_FILE)
            o->dram_file = a.val;
        else if (c == O_HTML)
            o->html = a.val;
    }
    if (c < 0)
        return a.rc;
    o->platform = a.platform;
    o->seed = a.seed;
    o->json = a.json;
    return -1;
}

static void begin(struct demo *d, const struct opts *o, const char *name, const char *title)
{
    memset(d, 0, sizeof *d);
    d->name = name;
    d->platform = o->platform;
    d->seed = o->seed;
    d->json = o->json;
    d->title = title;
    d->pic.path = o->html;
    if (d->json) {
        mc_json_begin(&d->j, stdout);
        mc_json_obj(&d->j, NULL);
        mc_json_str(&d->j, "demo", name);
        mc_json_str(&d->j, "platform", o->platform);
        mc_json_str(&d->j, "seed", o->seed);
        mc_json_str(&d->j, "title", title);
        mc_json_arr(&d->j, "steps");
    } else {
        printf("memcrypt demo %s — %s\nplatform %s, %s\n\n", name, title, o->platform,
               o->seed ? "deterministic keys (--seed)" : "fresh random keys");
    }
}

static void say(struct demo *d, const char *text)
{
    viz_story_note(&d->pic, text);
    if (d->json) {
        mc_json_obj(&d->j, NULL);
        mc_json_str(&d->j, "note", text);
        mc_json_end(&d->j);
    } else {
        printf("%s\n", text);
    }
}

/* One observation: who looked, what they got. */
static void view(struct demo *d, const char *who, const uint8_t *b, size_t n)
{
    bool secret = n >= SECRET_LEN && !memcmp(b, SECRET, SECRET_LEN);
    char hex[3 * 16 + 1] = "", txt[17];
    size_t k = n < 16 ? n : 16;
    for (size_t i = 0; i < k; i++) {
        snprintf(hex + 3 * i, 4, "%02x ", b[i]);
        txt[i] = (b[i] >= 0x20 && b[i] < 0x7f) ? (char)b[i] : '.';
    }
    txt[k] = 0;
    d->n++;
    viz_story_view(&d->pic, who, b, n, secret, secret ? "the secret" : "not the secret");
    if (d->json) {
        mc_json_obj(&d->j, NULL);
        mc_json_str(&d->j, "who", who);
        mc_json_hexbytes(&d->j, "bytes", b, n);
        mc_json_bool(&d->j, "is_secret", secret);
        mc_json_end(&d->j);
    } else {
        printf("  %2u. %-46s %s |%-16s| %s\n", d->n, who, hex, txt, secret ? "<- the secret" : "(not the secret)");
    }
}

static void fail_line(struct demo *d, const char *who, const struct mc_error *e)
{
    d->n++;
    if (d->json) {
        mc_json_obj(&d->j, NULL);
        mc_json_str(&d->j, "who", who);
        mc_json_str(&d->j, "refused", e->msg);
        mc_json_end(&d->j);
    } else {
        printf("  %2u. %-46s refused: %s\n", d->n, who, e->msg);
    }
}

static int finish(struct demo *d, const char *conclusion)
{
    char title[160], sub[160], path[64];
    struct mc_error e;
    snprintf(title, sizeof title, "memcrypt demo %s: %s", d->name, d->title);
    snprintf(sub, sizeof sub, "platform %s, %s", d->platform, d->seed ? "deterministic keys (--seed)" : "fresh random keys");
    snprintf(path, sizeof path, "demo %s", d->name);
    if (viz_story_write(&d->pic, title, sub, conclusion, &e) != MC_OK)
        return d->json ? mc_cli_json_fail(&d->j, path, &e) : mc_cli_fail(path, &e);
    if (d->json) {
        mc_json_end(&d->j);
        mc_json_str(&d->j, "conclusion", conclusion);
        mc_json_finish(&d->j);
    } else {
        printf("\n%s\n", conclusion);
    }
    return MC_EXIT_OK;
}

/* Build a board; seed_tag distinguishes boots of the same demo. These demos are about the
 * memory path alone: the board has no firmware or hypervisor (which would also draw from the
 * DRBG and so change every key the demo shows for a seed). *m is the board's machine. */
static mc_status make(struct demo *d, const struct opts *o, const char *seed_tag, int tsme, int sme, const char *file,
                      struct mc_board **b, struct mc_machine **m, struct mc_error *e)
{
    struct mc_board_config c;
    mc_status st = mc_board_config_init(&c, o->platform, e);
    if (st)
        return st;
    c.firmware = c.hypervisor = false;
    c.machine.dram_size = 8u << 20;
    c.machine.dram_file = file;
    c.machine.bios.tsme = tsme;
    c.machine.bios.sme = sme;
    char seed[256];
    if (o->seed) {
        snprintf(seed, sizeof seed, "%s/%s", o->seed, seed_tag);
        c.machine.seed = (const uint8_t *)seed;
        c.machine.seed_len = strlen(seed);
    }
    st = mc_board_create(&c, b, e);
    if (st)
        return st;
    *m = mc_board_machine(*b);
    if (d->pic.path)
        memctl_set_write_observer(mc_machine_memctl(*m), viz_map_observe, &d->pic.map);
    return st;
}

/* Encrypted page tables; VA_ENC -> PA_DATA with C=1, VA_PLAIN -> PA_DATA with C=0, VA_GUEST
 * -> PA_GUEST with C=1; long mode on. */
static mc_status paging_on(struct mc_machine *m, struct mc_error *e)
{
    struct mc_ptb b;
    uint64_t c = mc_machine_enc_bit(m);
    mc_status st = mc_ptb_init(&b, m, 0x100000, 0x10000, c != 0, e);
    if (!st) st = mc_ptb_map(&b, VA_ENC, PA_DATA | c, 4096, 4096, MC_PTE_W, e);
    if (!st) st = mc_ptb_map(&b, VA_PLAIN, PA_DATA, 4096, 4096, MC_PTE_W, e);
    if (!st) st = mc_ptb_map(&b, VA_GUEST, PA_GUEST | c, 4096, 4096, MC_PTE_W, e);
    if (!st) st = mc_machine_set_reg(m, MC_CREG_EFER, MC_EFER_LME | MC_EFER_NXE, NULL, e);
    if (!st) st = mc_machine_set_reg(m, MC_CREG_CR4, MC_CR4_PAE, NULL, e);
    if (!st) st = mc_machine_set_reg(m, MC_CREG_CR3, mc_ptb_cr3(&b), NULL, e);
    if (!st) st = mc_machine_set_reg(m, MC_CREG_CR0, 1 | MC_CR0_PG | MC_CR0_WP, NULL, e);
    return st;
}

static int bail(struct demo *d, struct mc_board *bd, const struct mc_error *e)
{
    char path[64];
    snprintf(path, sizeof path, "demo %s", d->name ? d->name : "");
    int rc = d->json ? mc_cli_json_fail(&d->j, path, e) : mc_cli_fail(path, e);
    mc_board_destroy(bd);
    viz_story_free(&d->pic);
    return rc;
}

#define TRY(x)                                                                                                         \
    do {                                                                                                               \
        if ((x) != MC_OK)                                                                                              \
            return bail(&d, bd, &e);                                                                             \
    } while (0)

static int run_sme(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct opts o;
    int r = parse(cmd, argc, argv, &o);
    if (r >= 0)
        return r;
    struct demo d;
    struct mc_board *bd = NULL;
    struct mc_machine *m = NULL;
    struct mc_error e;
    begin(&d, &o, "sme", "Secure Memory Encryption: the C-bit selects the host key");
    TRY(make(&d, &o, "boot-1", -1, 1, NULL, &bd, &m, &e));
    TRY(paging_on(m, &e));
    uint64_t c = mc_machine_enc_bit(m);
    uint8_t b[SECRET_LEN];
    char line[200];
    snprintf(line, sizeof line, "The CPU stores a secret at virtual 0x%llx, mapped to physical 0x%llx with the C-bit "
             "(bit %d) set.", (unsigned long long)VA_ENC, (unsigned long long)PA_DATA, __builtin_ctzll(c));
    say(&d, line);
    TRY(mc_machine_store(m, VA_ENC, SECRET, SECRET_LEN, false, NULL, &e));
    TRY(mc_machine_load(m, VA_ENC, b, SECRET_LEN, false, NULL, &e));
    view(&d, "CPU load through the C=1 mapping", b, SECRET_LEN);
    TRY(mc_machine_wbinvd(m, &e));
    TRY(mc_dram_read(mc_machine_dram(m), PA_DATA, b, SECRET_LEN, &e));
    view(&d, "DRAM bus (raw port) after WBINVD", b, SECRET_LEN);
    TRY(mc_machine_load(m, VA_PLAIN, b, SECRET_LEN, false, NULL, &e));
    view(&d, "CPU load through a C=0 alias of the frame", b, SECRET_LEN);
    struct mc_dma_port d64, d32;
    TRY(mc_dma_init(&d64, mc_machine_memctl(m), 64, &e));
    TRY(mc_dma_init(&d32, mc_machine_memctl(m), 32, &e));
    TRY(mc_dma_read(&d64, c | PA_DATA, b, SECRET_LEN, NULL, &e));
    view(&d, "64-bit DMA device, bus address with C-bit", b, SECRET_LEN);
    TRY(mc_dma_read(&d64, PA_DATA, b, SECRET_LEN, NULL, &e));
    view(&d, "64-bit DMA device, bus address without C-bit", b, SECRET_LEN);
    struct mc_error e2;
    if (mc_dma_read(&d32, c | PA_DATA, b, SECRET_LEN, NULL, &e2) != MC_OK)
        fail_line(&d, "32-bit DMA device asks for the C=1 address", &e2);
    TRY(mc_dma_bounce_to_device(mc_machine_memctl(m), c | PA_DATA, PA_BOUNCE, SECRET_LEN, &e));
    TRY(mc_dma_read(&d32, PA_BOUNCE, b, SECRET_LEN, NULL, &e));
    view(&d, "32-bit DMA device, via a C=0 bounce buffer", b, SECRET_LEN);
    say(&d, "Reset: the memory controller draws a new host key; DRAM keeps its bytes.");
    TRY(mc_machine_reset(m, &e));
    TRY(mc_machine_phys_read(m, c | PA_DATA, b, SECRET_LEN, NULL, &e));
    view(&d, "CPU load with C=1 after the reset", b, SECRET_LEN);
    mc_board_destroy(bd);
    return finish(&d, "Only accesses that carry the C-bit (CPU mappings, capable devices) see plaintext; the bus, "
                      "C=0 aliases and 32-bit devices see ciphertext; after a reset the old image is garbage.");
}

static int run_tsme(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct opts o;
    int r = parse(cmd, argc, argv, &o);
    if (r >= 0)
        return r;
    struct demo d;
    struct mc_board *bd = NULL;
    struct mc_machine *m = NULL;
    struct mc_error e;
    begin(&d, &o, "tsme", "Transparent SME: every access uses the platform key, the C-bit is ignored");
    TRY(make(&d, &o, "boot-1", 1, -1, NULL, &bd, &m, &e));
    TRY(paging_on(m, &e));
    uint8_t b[SECRET_LEN];
    say(&d, "The BIOS turned TSME on (and set SYSCFG[23], MemEncryptionModEn, as TSME needs). The CPU stores the "
            "secret through a C=0 mapping.");
    TRY(mc_machine_store(m, VA_PLAIN, SECRET, SECRET_LEN, false, NULL, &e));
    TRY(mc_machine_load(m, VA_ENC, b, SECRET_LEN, false, NULL, &e));
    view(&d, "CPU load through the C=1 alias", b, SECRET_LEN);
    TRY(mc_machine_load(m, VA_PLAIN, b, SECRET_LEN, false, NULL, &e));
    view(&d, "CPU load through the C=0 mapping", b, SECRET_LEN);
    TRY(mc_machine_wbinvd(m, &e));
    TRY(mc_dram_read(mc_machine_dram(m), PA_DATA, b, SECRET_LEN, &e));
    view(&d, "DRAM bus (raw port) after WBINVD", b, SECRET_LEN);
    struct mc_dma_port d32;
    TRY(mc_dma_init(&d32, mc_machine_memctl(m), 32, &e));
    TRY(mc_dma_read(&d32, PA_DATA, b, SECRET_LEN, NULL, &e));
    view(&d, "32-bit DMA device (no C-bit, no bounce)", b, SECRET_LEN);
    mc_slot s;
    struct mc_error e2;
    if (mc_engine_slot_generate(mc_machine_engine(m), MC_CIPHER_AES128_XTS, &s, &e2) == MC_OK &&
        memctl_bind_asid(mc_machine_memctl(m), 1, s, &e2) != MC_OK)
        fail_line(&d, "Bind an SEV ASID key", &e2);
    say(&d, "Reset: a new platform key.");
    TRY(mc_machine_reset(m, &e));
    TRY(mc_machine_phys_read(m, PA_DATA, b, SECRET_LEN, NULL, &e));
    view(&d, "CPU load after the reset", b, SECRET_LEN);
    mc_board_destroy(bd);
    return finish(&d, "With TSME everything inside the machine sees plaintext and the DRAM bus sees ciphertext, "
                      "without any OS support; SYSCFG[23] is set, yet SEV's per-ASID keys are not available.");
}

static int run_cold_boot(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct opts o;
    int r = parse(cmd, argc, argv, &o);
    if (r >= 0)
        return r;
    struct demo d;
    struct mc_board *bd = NULL;
    struct mc_machine *m = NULL;
    struct mc_error e;
    char tmp[] = "/tmp/memcrypt-coldboot-XXXXXX";
    const char *path = o.dram_file;
    if (!path) {
        int fd = mkstemp(tmp);
        if (fd < 0) {
            mc_seterr(&e, MC_E_IO, "cannot create a temporary DRAM file");
            return mc_cli_fail(argv[0], &e);
        }
        close(fd);
        unlink(tmp);
        path = tmp;
    }
    begin(&d, &o, "cold-boot", "Cold boot: DRAM keeps its contents across a power cycle, the key does not");
    TRY(make(&d, &o, "boot-1", -1, 1, path, &bd, &m, &e));
    uint64_t c = mc_machine_enc_bit(m);
    uint8_t b[SECRET_LEN];
    say(&d, "Boot 1: the OS keeps the secret in an encrypted page (C=1) and, carelessly, in an unencrypted one.");
    TRY(mc_machine_phys_write(m, c | PA_DATA, SECRET, SECRET_LEN, NULL, &e));
    TRY(mc_machine_phys_write(m, PA_CLEAR, SECRET, SECRET_LEN, NULL, &e));
    TRY(mc_machine_phys_read(m, c | PA_DATA, b, SECRET_LEN, NULL, &e));
    view(&d, "boot 1: CPU load with C=1", b, SECRET_LEN);
    TRY(mc_machine_wbinvd(m, &e));
    mc_board_destroy(bd);
    bd = NULL;
    m = NULL;
    say(&d, "Power cut. The attacker moves the DIMMs (the DRAM file) to another machine.");
    TRY(make(&d, &o, "boot-2", -1, 1, path, &bd, &m, &e));
    TRY(mc_dram_read(mc_machine_dram(m), PA_DATA, b, SECRET_LEN, &e));
    view(&d, "attacker reads the encrypted page raw", b, SECRET_LEN);
    TRY(mc_dram_read(mc_machine_dram(m), PA_CLEAR, b, SECRET_LEN, &e));
    view(&d, "attacker reads the unencrypted page raw", b, SECRET_LEN);
    TRY(mc_machine_phys_read(m, c | PA_DATA, b, SECRET_LEN, NULL, &e));
    view(&d, "boot 2 (new key): CPU load with C=1", b, SECRET_LEN);
    struct mc_dma_port dev;
    TRY(mc_dma_init(&dev, mc_machine_memctl(m), 64, &e));
    TRY(mc_dma_read(&dev, c | PA_DATA, b, SECRET_LEN, NULL, &e));
    view(&d, "boot 2: DMA device with C-bit (new key)", b, SECRET_LEN);
    mc_board_destroy(bd);
    if (!o.dram_file)
        unlink(tmp);
    return finish(&d, "Memory encryption turns a cold-boot image into ciphertext under a key that died with the "
                      "power; only pages the OS left unencrypted leak.");
}

static int run_cache_alias(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct opts o;
    int r = parse(cmd, argc, argv, &o);
    if (r >= 0)
        return r;
    struct demo d;
    struct mc_board *bd = NULL;
    struct mc_machine *m = NULL;
    struct mc_error e;
    begin(&d, &o, "cache-alias", "Cache aliasing: the same frame cached under two key domains");
    TRY(make(&d, &o, "boot-1", -1, 1, NULL, &bd, &m, &e));
    TRY(paging_on(m, &e));
    uint8_t b[SECRET_LEN];
    say(&d, "The cache holds plaintext lines tagged (physical line, key domain); C=0 and C=1 are different tags.");
    if (memctl_get_platform(mc_machine_memctl(m))->coherent)
        say(&d, "This platform enumerates 8000_001F EAX[10]: hardware keeps the domains coherent, so no stale "
                "line appears (try --platform rome to see the hazard).");
    TRY(mc_machine_load(m, VA_PLAIN, b, SECRET_LEN, false, NULL, &e));
    view(&d, "CPU load through C=0 (line now cached)", b, SECRET_LEN);
    TRY(mc_machine_store(m, VA_ENC, SECRET, SECRET_LEN, false, NULL, &e));
    say(&d, "The CPU stores the secret through the C=1 mapping and does not flush.");
    TRY(mc_machine_load(m, VA_PLAIN, b, SECRET_LEN, false, NULL, &e));
    view(&d, "CPU load through C=0 again, no flush", b, SECRET_LEN);
    TRY(mc_dram_read(mc_machine_dram(m), PA_DATA, b, SECRET_LEN, &e));
    view(&d, "DRAM bus before any flush", b, SECRET_LEN);
    struct mc_dma_port dev;
    TRY(mc_dma_init(&dev, mc_machine_memctl(m), 64, &e));
    TRY(mc_dma_read(&dev, mc_machine_enc_bit(m) | PA_DATA, b, SECRET_LEN, NULL, &e));
    view(&d, "DMA device with C-bit (host-key tag)", b, SECRET_LEN);
    TRY(mc_dma_read(&dev, PA_DATA, b, SECRET_LEN, NULL, &e));
    view(&d, "DMA device without C-bit, before any flush", b, SECRET_LEN);
    TRY(mc_machine_clflush(m, VA_ENC, NULL, &e));
    TRY(mc_machine_clflush(m, VA_PLAIN, NULL, &e));
    say(&d, "CLFLUSH through both mappings writes the C=1 line back and drops the stale C=0 line.");
    TRY(mc_machine_load(m, VA_PLAIN, b, SECRET_LEN, false, NULL, &e));
    view(&d, "CPU load through C=0 after CLFLUSH", b, SECRET_LEN);
    TRY(mc_machine_load(m, VA_ENC, b, SECRET_LEN, false, NULL, &e));
    view(&d, "CPU load through C=1 after CLFLUSH", b, SECRET_LEN);
    /* A guest's private line. */
    mc_slot s;
    TRY(mc_engine_slot_generate(mc_machine_engine(m), MC_CIPHER_AES128_XTS, &s, &e));
    TRY(memctl_bind_asid(mc_machine_memctl(m), 1, s, &e));
    struct memctl_access a = {.addr = PA_GUEST, .size = SECRET_LEN, .kind = MEMCTL_ACC_WRITE, .req = MEMCTL_REQ_GUEST, .asid = 1,
                          .guest_c = true};
    TRY(memctl_write(mc_machine_memctl(m), &a, SECRET, NULL, &e));
    say(&d, "An SEV guest (ASID 1) writes the secret to a private page; it sits dirty in the cache.");
    TRY(mc_dram_read(mc_machine_dram(m), PA_GUEST, b, SECRET_LEN, &e));
    view(&d, "DRAM bus before any flush", b, SECRET_LEN);
    TRY(mc_machine_clflush(m, VA_GUEST, NULL, &e));
    TRY(mc_dram_read(mc_machine_dram(m), PA_GUEST, b, SECRET_LEN, &e));
    view(&d, "DRAM bus after host CLFLUSH (C=1 mapping)", b, SECRET_LEN);
    TRY(mc_machine_wrmsr(m, MC_MSR_VM_PAGE_FLUSH, VA_GUEST | 1, NULL, &e));
    TRY(mc_dram_read(mc_machine_dram(m), PA_GUEST, b, SECRET_LEN, &e));
    view(&d, "DRAM bus after VM_PAGE_FLUSH(va | ASID 1)", b, SECRET_LEN);
    TRY(mc_machine_load(m, VA_GUEST, b, SECRET_LEN, false, NULL, &e));
    view(&d, "hypervisor load through its C=1 mapping", b, SECRET_LEN);
    a.kind = MEMCTL_ACC_READ;
    TRY(memctl_read(mc_machine_memctl(m), &a, b, NULL, &e));
    view(&d, "guest ASID 1 load (private)", b, SECRET_LEN);
    say(&d, "Reset: cache contents are lost, every key is new.");
    TRY(mc_machine_reset(m, &e));
    TRY(mc_machine_phys_read(m, mc_machine_enc_bit(m) | PA_DATA, b, SECRET_LEN, NULL, &e));
    view(&d, "CPU load with C=1 after the reset", b, SECRET_LEN);
    mc_board_destroy(bd);
    return finish(&d, "Without coherency across key domains, software must flush a page (CLFLUSH, WBINVD, "
                      "VM_PAGE_FLUSH for guest lines) before using it under another C-bit or key.");
}

#define DEMO_COMMON MC_CO_SEED | MC_CO_PLATFORM | MC_CO_JSON

const struct mc_cli_cmd mc_cli_demo[] = {
    {.path = "demo sme",
     .summary = "SME: what the CPU, the DRAM bus and DMA devices see; a reset",
     .synopsis = "[--seed S] [--platform P] [--json] [--html FILE]",
     .about = "The CPU stores a secret through a C=1 mapping; the CPU, a C=0 alias, the DRAM bus and DMA\n"
              "devices (64-bit, 32-bit, through a bounce buffer) read it; then a reset draws a new key.\n",
     .common = DEMO_COMMON,
     .opts = demo_opts,
     .platform_default = "milan",
     .examples = "memcrypt demo sme --seed 1\n"
                 "d=$(mktemp -d)\n"
                 "memcrypt demo sme --seed 1 --html $d/sme.html   # open it in a browser\n",
     .run = run_sme},
    {.path = "demo tsme",
     .summary = "TSME: the C-bit ignored, everything encrypted with one platform key",
     .synopsis = "[--seed S] [--platform P] [--json] [--html FILE]",
     .about = "The BIOS turns Transparent SME on: every access uses the platform key, C=0 and C=1 alike;\n"
              "only the DRAM bus sees ciphertext, and SEV keys are not available.\n",
     .common = DEMO_COMMON,
     .opts = demo_opts,
     .platform_default = "milan",
     .examples = "memcrypt demo tsme --seed 1\n",
     .run = run_tsme},
    {.path = "demo cold-boot",
     .summary = "cold boot: a DRAM image read on another machine",
     .synopsis = "[--seed S] [--platform P] [--dram-file PATH] [--json] [--html FILE]",
     .about = "Boot 1 keeps a secret in an encrypted and in an unencrypted page; the power is cut and the\n"
              "DRAM image (a file) is read on boot 2 with a new key.\n",
     .opts = cold_boot_opts,
     .common = DEMO_COMMON,
     .platform_default = "rome",
     .examples = "memcrypt demo cold-boot --seed 1\n",
     .run = run_cold_boot},
    {.path = "demo cache-alias",
     .summary = "cache aliasing across key domains; CLFLUSH and VM_PAGE_FLUSH",
     .synopsis = "[--seed S] [--platform P] [--json] [--html FILE]",
     .about = "One frame cached under two key domains (C=0 and C=1, then a guest's ASID): the stale line,\n"
              "and how CLFLUSH, WBINVD and VM_PAGE_FLUSH resolve it.\n",
     .common = DEMO_COMMON,
     .opts = demo_opts,
     .platform_default = "rome",
     .examples = "memcrypt demo cache-alias --seed 1 --platform rome\n",
     .run = run_cache_alias},
    {0},
};
