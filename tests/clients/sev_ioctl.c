/* A /dev/sev client written only against the kernel's <linux/psp-sev.h>, doing what sevctl and
 * sev-tool do (platform status, PEK/PDH generation, PEK CSR, PEK import, PDH export with its
 * chain, GET_ID/GET_ID2, factory reset) plus the hostile calls a driver must survive. It knows
 * nothing of memcrypt: tests run it under `memcrypt exec`, and it would run the same on a host
 * with the real device.
 *
 *   sev_ioctl status | pek-gen | pdh-gen | reset | get-id | get-id2
 *   sev_ioctl pek-csr FILE | pek-import PEK OCA | pdh-export DIR
 *   sev_ioctl snp-status | snp-commit | snp-config REPORTED_TCB FLAGS | snp-vlek FILE   (Linux 6.11's
 *                              SNP host commands, as snphost and sevctl issue them)
 *   sev_ioctl hostile          (every bad call; prints one line per check, exit 1 on a mismatch)
 *   sev_ioctl loop N CMD       (N times the command, for concurrency tests)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/psp-sev.h>

/* The SNP host commands: the system's header from Linux 6.11 on, else the kernel's published
 * values (the project keeps them in one header). */
#include "psp-sev-snp-6.11.h"

#define DEV "/dev/sev"
#define CERT_LEN 0x824
#define CHAIN_LEN (3 * CERT_LEN)

static int dev_open(int flags)
{
    int fd = open(DEV, flags);
    if (fd < 0) {
        fprintf(stderr, "open %s: %s\n", DEV, strerror(errno));
        exit(3);
    }
    return fd;
}

/* One SEV_ISSUE_CMD; returns 0 or errno, *fw gets `error`. */
static int issue(int fd, uint32_t cmd, void *data, uint32_t *fw)
{
    struct sev_issue_cmd c = {.cmd = cmd, .data = (uint64_t)(uintptr_t)data, .error = 0};
    int r = ioctl(fd, SEV_ISSUE_CMD, &c);
    if (fw)
        *fw = c.error;
    return r < 0 ? errno : 0;
}

static int fail(const char *what, int e, uint32_t fw)
{
    fprintf(stderr, "%s: %s (firmware error 0x%x)\n", what, strerror(e), fw);
    return 1;
}

static int write_file(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

static long read_file(const char *path, void *b, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = fread(b, 1, cap, f);
    fclose(f);
    return (long)n;
}

static void hex(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
}

static int cmd_status(void)
{
    int fd = dev_open(O_RDONLY);
    struct sev_user_data_status st;
    uint32_t fw;
    int e = issue(fd, SEV_PLATFORM_STATUS, &st, &fw);
    close(fd);
    if (e)
        return fail("PLATFORM_STATUS", e, fw);
    printf("api %u.%u build %u state %u flags 0x%x owner %s es %s guests %u\n", st.api_major, st.api_minor,
           st.build, st.state, st.flags, (st.flags & 1) ? "external" : "self",
           (st.flags & SEV_STATUS_FLAGS_CONFIG_ES) ? "yes" : "no", st.guest_count);
    return 0;
}

static int cmd_snp_status(void)
{
    int fd = dev_open(O_RDONLY);
    struct sev_user_data_snp_status st;
    memset(&st, 0xA5, sizeof st);
    uint32_t fw;
    int e = issue(fd, SNP_PLATFORM_STATUS, &st, &fw);
    close(fd);
    if (e)
        return fail("SNP_PLATFORM_STATUS", e, fw);
    printf("snp api %u.%u build %u state %u rmp_init %u mask_chip_id %u mask_chip_key %u vlek %u feature_info %u "
           "guests %u current_tcb 0x%016llx reported_tcb 0x%016llx\n",
           st.api_major, st.api_minor, st.build_id, st.state, st.is_rmp_initialized, st.mask_chip_id,
           st.mask_chip_key, st.vlek_en, st.feature_info, st.guest_count,
           (unsigned long long)st.current_tcb_version, (unsigned long long)st.reported_tcb_version);
    return 0;
}

static int cmd_snp_config(const char *tcb, const char *flags)
{
    int fd = dev_open(O_RDWR);
    struct sev_user_data_snp_config c;
    memset(&c, 0, sizeof c);
    c.reported_tcb = strtoull(tcb, NULL, 0);
    unsigned long f = strtoul(flags, NULL, 0);
    c.mask_chip_id = f & 1;
    c.mask_chip_key = (f >> 1) & 1;
    uint32_t fw;
    int e = issue(fd, SNP_SET_CONFIG, &c, &fw);
    close(fd);
    if (e)
        return fail("SNP_SET_CONFIG", e, fw);
    printf("SNP_SET_CONFIG ok\n");
    return 0;
}

static int cmd_snp_vlek(const char *path)
{
    struct sev_user_data_snp_wrapped_vlek_hashstick w;
    FILE *f = fopen(path, "rb");
    if (!f || fread(&w, 1, sizeof w, f) != sizeof w) {
        fprintf(stderr, "%s: need %zu bytes\n", path, sizeof w);
        if (f)
            fclose(f);
        return 2;
    }
    fclose(f);
    struct sev_user_data_snp_vlek_load v = {.len = sizeof v, .vlek_wrapped_version = 0,
                                            .vlek_wrapped_address = (uint64_t)(uintptr_t)&w};
    int fd = dev_open(O_RDWR);
    uint32_t fw;
    int e = issue(fd, SNP_VLEK_LOAD, &v, &fw);
    close(fd);
    if (e)
        return fail("SNP_VLEK_LOAD", e, fw);
    printf("SNP_VLEK_LOAD ok\n");
    return 0;
}

static int cmd_simple(uint32_t cmd, const char *name)
{
    int fd = dev_open(O_RDWR);
    uint32_t fw;
    int e = issue(fd, cmd, NULL, &fw);
    close(fd);
    if (e)
        return fail(name, e, fw);
    printf("%s ok\n", name);
    return 0;
}

static int cmd_pek_csr(const char *out)
{
    int fd = dev_open(O_RDWR);
    struct sev_user_data_pek_csr q = {0};
    uint32_t fw;
    /* sevctl's order: ask for the length, then fetch. */
    int e = issue(fd, SEV_PEK_CSR, &q, &fw);
    if (e != EIO || fw != SEV_RET_INVALID_LEN || q.length != CERT_LEN)
        return fail("PEK_CSR length query", e, fw);
    uint8_t *buf = calloc(1, q.length);
    q.address = (uint64_t)(uintptr_t)buf;
    e = issue(fd, SEV_PEK_CSR, &q, &fw);
    close(fd);
    if (e)
        return fail("PEK_CSR", e, fw);
    int r = write_file(out, buf, q.length);
    free(buf);
    if (!r)
        printf("PEK_CSR %u bytes\n", q.length);
    return r;
}

static int cmd_pek_import(const char *pek_path, const char *oca_path)
{
    static uint8_t pek[0x4000], oca[0x4000];
    long pl = read_file(pek_path, pek, sizeof pek), ol = read_file(oca_path, oca, sizeof oca);
    if (pl < 0 || ol < 0)
        return 1;
    int fd = dev_open(O_RDWR);
    struct sev_user_data_pek_cert_import in = {.pek_cert_address = (uint64_t)(uintptr_t)pek,
                                               .pek_cert_len = (uint32_t)pl,
                                               .oca_cert_address = (uint64_t)(uintptr_t)oca,
                                               .oca_cert_len = (uint32_t)ol};
    uint32_t fw;
    int e = issue(fd, SEV_PEK_CERT_IMPORT, &in, &fw);
    close(fd);
    if (e)
        return fail("PEK_CERT_IMPORT", e, fw);
    printf("PEK_CERT_IMPORT ok\n");
    return 0;
}

static int cmd_pdh_export(const char *dir)
{
    int fd = dev_open(O_RDWR);
    struct sev_user_data_pdh_cert_export q = {0};
    uint32_t fw;
    int e = issue(fd, SEV_PDH_CERT_EXPORT, &q, &fw);
    if (e != EIO || fw != SEV_RET_INVALID_LEN || q.pdh_cert_len != CERT_LEN || q.cert_chain_len != CHAIN_LEN)
        return fail("PDH_CERT_EXPORT length query", e, fw);
    uint8_t *pdh = calloc(1, q.pdh_cert_len), *chain = calloc(1, q.cert_chain_len);
    q.pdh_cert_address = (uint64_t)(uintptr_t)pdh;
    q.cert_chain_address = (uint64_t)(uintptr_t)chain;
    e = issue(fd, SEV_PDH_CERT_EXPORT, &q, &fw);
    close(fd);
    if (e)
        return fail("PDH_CERT_EXPORT", e, fw);
    char p[4096];
    int r = 0;
    snprintf(p, sizeof p, "%s/pdh.cert", dir);
    r |= write_file(p, pdh, CERT_LEN);
    snprintf(p, sizeof p, "%s/pek.cert", dir);
    r |= write_file(p, chain, CERT_LEN);
    snprintf(p, sizeof p, "%s/oca.cert", dir);
    r |= write_file(p, chain + CERT_LEN, CERT_LEN);
    snprintf(p, sizeof p, "%s/cek.cert", dir);
    r |= write_file(p, chain + 2 * CERT_LEN, CERT_LEN);
    free(pdh);
    free(chain);
    if (!r)
        printf("PDH_CERT_EXPORT ok\n");
    return r;
}

static int cmd_get_id(void)
{
    int fd = dev_open(O_RDONLY);
    struct sev_user_data_get_id id;
    memset(&id, 0xAA, sizeof id);
    uint32_t fw;
    int e = issue(fd, SEV_GET_ID, &id, &fw);
    close(fd);
    if (e)
        return fail("GET_ID", e, fw);
    hex(id.socket1, sizeof id.socket1);
    return 0;
}

static int cmd_get_id2(void)
{
    int fd = dev_open(O_RDONLY);
    struct sev_user_data_get_id2 q = {0};
    uint32_t fw;
    int e = issue(fd, SEV_GET_ID2, &q, &fw);
    if (e != EIO || fw != SEV_RET_INVALID_LEN || q.length == 0)
        return fail("GET_ID2 length query", e, fw);
    uint8_t *id = calloc(1, q.length);
    q.address = (uint64_t)(uintptr_t)id;
    e = issue(fd, SEV_GET_ID2, &q, &fw);
    close(fd);
    if (e)
        return fail("GET_ID2", e, fw);
    hex(id, q.length);
    free(id);
    return 0;
}

/* ---- hostile calls --------------------------------------------------------------------------- */

static int bad;

static void expect(const char *what, int got, int want)
{
    printf("%-58s %s (%s)\n", what, got == want ? "ok" : "MISMATCH", got ? strerror(got) : "success");
    if (got != want) {
        printf("    expected %s\n", want ? strerror(want) : "success");
        bad = 1;
    }
}

static void expect_u32(const char *what, uint32_t got, uint32_t want)
{
    printf("%-58s %s (0x%x)\n", what, got == want ? "ok" : "MISMATCH", got);
    if (got != want) {
        printf("    expected 0x%x\n", want);
        bad = 1;
    }
}

static int cmd_hostile(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    int rw = dev_open(O_RDWR), ro = dev_open(O_RDONLY), wo = dev_open(O_WRONLY);
    uint32_t fw;
    /* A page that cannot be read, and one that cannot be written. */
    uint8_t *none = mmap(NULL, (size_t)pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *rdonly = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (none == MAP_FAILED || rdonly == MAP_FAILED)
        return 3;

    /* The node. */
    struct stat st;
    expect("fstat: a character device", fstat(rw, &st) ? errno : (S_ISCHR(st.st_mode) ? 0 : ENOTTY), 0);
    expect("stat(/dev/sev): a character device", stat(DEV, &st) ? errno : (S_ISCHR(st.st_mode) ? 0 : ENOTTY), 0);
    expect("stat and fstat: one device number", fstat(rw, &st) == 0 && major(st.st_rdev) == 10 ? 0 : EINVAL, 0);
    expect("open(O_CREAT|O_EXCL)", open(DEV, O_RDWR | O_CREAT | O_EXCL, 0600) < 0 ? errno : 0, EEXIST);
    expect("open(O_DIRECTORY)", open(DEV, O_RDONLY | O_DIRECTORY) < 0 ? errno : 0, ENOTDIR);
    char b[8];
    expect("read: no read method", read(rw, b, sizeof b) < 0 ? errno : 0, EINVAL);
    expect("write: no write method", write(rw, b, sizeof b) < 0 ? errno : 0, EINVAL);
    expect("read on a write-only file", read(wo, b, sizeof b) < 0 ? errno : 0, EBADF);
    expect("write on a read-only file", write(ro, b, sizeof b) < 0 ? errno : 0, EBADF);
    struct pollfd pf = {.fd = rw, .events = POLLIN | POLLOUT};
    int pr = poll(&pf, 1, 1000);
    expect("poll: always ready (no poll method)",
           pr == 1 && (pf.revents & (POLLIN | POLLOUT)) == (POLLIN | POLLOUT) ? 0 : EINVAL, 0);

    /* The request. */
    struct sev_user_data_status s;
    struct sev_issue_cmd c = {.cmd = SEV_PLATFORM_STATUS, .data = (uint64_t)(uintptr_t)&s};
    expect("ioctl with another request number", ioctl(rw, _IOWR('S', 1, struct sev_issue_cmd), &c) ? errno : 0,
           EINVAL);
    expect("ioctl with the upper half of the request set", ioctl(rw, SEV_ISSUE_CMD | (1ul << 40), &c) ? errno : 0, 0);
    expect("ioctl(SEV_ISSUE_CMD, NULL)", ioctl(rw, SEV_ISSUE_CMD, NULL) ? errno : 0, EFAULT);
    expect("ioctl(SEV_ISSUE_CMD, unreadable page)", ioctl(rw, SEV_ISSUE_CMD, none) ? errno : 0, EFAULT);
    for (uint32_t cmd = 13; cmd < 16; cmd++) {
        char w[80];
        c.cmd = cmd;
        c.error = 0x5A5A;
        snprintf(w, sizeof w, "unknown command %u", cmd);
        expect(w, ioctl(rw, SEV_ISSUE_CMD, &c) ? errno : 0, EINVAL);
    }
    c.cmd = 0xFFFFFFFFu;
    expect("command 0xffffffff", ioctl(rw, SEV_ISSUE_CMD, &c) ? errno : 0, EINVAL);

    /* The command's own buffer. */
    expect("PLATFORM_STATUS into NULL", issue(rw, SEV_PLATFORM_STATUS, NULL, &fw), EFAULT);
    expect("PLATFORM_STATUS into a read-only page",
           (mprotect(rdonly, (size_t)pg, PROT_READ), issue(rw, SEV_PLATFORM_STATUS, rdonly, &fw)), EFAULT);
    expect("PLATFORM_STATUS on a read-only file", issue(ro, SEV_PLATFORM_STATUS, &s, &fw), 0);
    expect_u32("  state at rest (UNINIT)", s.state, 0);

    /* Permissions: state-changing commands need write access. */
    expect("PEK_GEN on a read-only file", issue(ro, SEV_PEK_GEN, NULL, &fw), EPERM);
    expect("PDH_GEN on a read-only file", issue(ro, SEV_PDH_GEN, NULL, &fw), EPERM);
    expect("FACTORY_RESET on a read-only file", issue(ro, SEV_FACTORY_RESET, NULL, &fw), EPERM);
    struct sev_user_data_pek_csr csr = {0};
    expect("PEK_CSR on a read-only file", issue(ro, SEV_PEK_CSR, &csr, &fw), EPERM);
    struct sev_user_data_pdh_cert_export pdh = {0};
    expect("PDH_CERT_EXPORT on a read-only file (needs INIT)", issue(ro, SEV_PDH_CERT_EXPORT, &pdh, &fw), EPERM);
    struct sev_user_data_get_id2 id2 = {0};
    expect("GET_ID2 length query on a read-only file", issue(ro, SEV_GET_ID2, &id2, &fw), EIO);
    expect_u32("  error: INVALID_LEN", fw, SEV_RET_INVALID_LEN);
    expect_u32("  length: 64", id2.length, 64);
    /* `error` is left as the caller set it when no firmware command ran. */
    c.cmd = SEV_PEK_GEN;
    c.data = 0;
    c.error = 0x1234;
    expect("PEK_GEN on a read-only file keeps error", ioctl(ro, SEV_ISSUE_CMD, &c) ? errno : 0, EPERM);
    expect_u32("  error unchanged", c.error, 0x1234);

    /* Lengths. */
    uint8_t *big = calloc(1, 0x5000);
    csr.address = (uint64_t)(uintptr_t)big;
    csr.length = 0x4001;
    expect("PEK_CSR longer than SEV_FW_BLOB_MAX_SIZE", issue(rw, SEV_PEK_CSR, &csr, &fw), EFAULT);
    csr.length = 100;
    expect("PEK_CSR with a short buffer", issue(rw, SEV_PEK_CSR, &csr, &fw), EIO);
    expect_u32("  error: INVALID_LEN", fw, SEV_RET_INVALID_LEN);
    expect_u32("  length: the one needed", csr.length, CERT_LEN);
    csr.address = (uint64_t)(uintptr_t)none;
    csr.length = CERT_LEN;
    expect("PEK_CSR into an unreadable page", issue(rw, SEV_PEK_CSR, &csr, &fw), EFAULT);
    expect("PEK_CSR with its request in an unreadable page", issue(rw, SEV_PEK_CSR, none, &fw), EFAULT);
    pdh.pdh_cert_address = (uint64_t)(uintptr_t)big;
    pdh.pdh_cert_len = CERT_LEN;
    pdh.cert_chain_address = (uint64_t)(uintptr_t)big;
    pdh.cert_chain_len = 0x4001;
    expect("PDH_CERT_EXPORT chain longer than the blob limit", issue(rw, SEV_PDH_CERT_EXPORT, &pdh, &fw), EFAULT);
    pdh.cert_chain_len = 16;
    expect("PDH_CERT_EXPORT with a short chain buffer", issue(rw, SEV_PDH_CERT_EXPORT, &pdh, &fw), EIO);
    expect_u32("  error: INVALID_LEN", fw, SEV_RET_INVALID_LEN);
    expect_u32("  chain length: the one needed", pdh.cert_chain_len, CHAIN_LEN);
    struct sev_user_data_pek_cert_import imp = {0};
    expect("PEK_CERT_IMPORT without certificates", issue(rw, SEV_PEK_CERT_IMPORT, &imp, &fw), EINVAL);
    imp.pek_cert_address = imp.oca_cert_address = (uint64_t)(uintptr_t)big;
    imp.pek_cert_len = 0x4001;
    imp.oca_cert_len = CERT_LEN;
    expect("PEK_CERT_IMPORT longer than the blob limit", issue(rw, SEV_PEK_CERT_IMPORT, &imp, &fw), EINVAL);
    imp.pek_cert_len = CERT_LEN;
    imp.oca_cert_address = (uint64_t)(uintptr_t)none;
    expect("PEK_CERT_IMPORT from an unreadable page", issue(rw, SEV_PEK_CERT_IMPORT, &imp, &fw), EFAULT);
    imp.oca_cert_address = (uint64_t)(uintptr_t)big;
    memset(big, 0x41, 0x5000);
    expect("PEK_CERT_IMPORT of garbage", issue(rw, SEV_PEK_CERT_IMPORT, &imp, &fw), EIO);
    expect_u32("  error: a certificate status", fw == SEV_RET_INVALID_CERTIFICATE || fw == SEV_RET_BAD_SIGNATURE, 1);
    id2.address = (uint64_t)(uintptr_t)big;
    id2.length = 5u << 20;
    expect("GET_ID2 with a 5 MiB buffer", issue(rw, SEV_GET_ID2, &id2, &fw), ENOMEM);
    id2.length = 8;
    expect("GET_ID2 with an 8-byte buffer", issue(rw, SEV_GET_ID2, &id2, &fw), EIO);
    expect_u32("  error: INVALID_LEN", fw, SEV_RET_INVALID_LEN);
    expect("GET_ID into a read-only page", issue(rw, SEV_GET_ID, rdonly, &fw), EFAULT);

    /* The SNP host commands (Linux 6.11: 9..12). */
    c.cmd = SNP_PLATFORM_STATUS;
    c.data = 0;
    expect("SNP_PLATFORM_STATUS without a buffer", ioctl(rw, SEV_ISSUE_CMD, &c) ? errno : 0, EINVAL);
    expect("SNP_PLATFORM_STATUS into a read-only page", issue(rw, SNP_PLATFORM_STATUS, rdonly, &fw), EFAULT);
    struct sev_user_data_snp_status ss;
    expect("SNP_PLATFORM_STATUS on a read-only file", issue(ro, SNP_PLATFORM_STATUS, &ss, &fw), 0);
    expect_u32("  SNP state seen by the command: INIT (the driver's implicit SNP_INIT)", ss.state, 1);
    expect_u32("  the RMP was initialised", ss.is_rmp_initialized, 1);
    expect("SNP_COMMIT on a read-only file (no permission check)", issue(ro, SNP_COMMIT, NULL, &fw), 0);
    struct sev_user_data_snp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    expect("SNP_SET_CONFIG without a buffer", issue(rw, SNP_SET_CONFIG, NULL, &fw), EINVAL);
    expect("SNP_SET_CONFIG on a read-only file", issue(ro, SNP_SET_CONFIG, &cfg, &fw), EPERM);
    expect("SNP_SET_CONFIG from an unreadable page", issue(rw, SNP_SET_CONFIG, none, &fw), EFAULT);
    cfg.rsvd1[7] = 1;
    expect("SNP_SET_CONFIG with a reserved byte set", issue(rw, SNP_SET_CONFIG, &cfg, &fw), EIO);
    expect_u32("  error: INVALID_PARAM", fw, 0x16);
    cfg.rsvd1[7] = 0;
    cfg.reported_tcb = ~0ull;
    expect("SNP_SET_CONFIG with a TCB above the committed one", issue(rw, SNP_SET_CONFIG, &cfg, &fw), EIO);
    expect_u32("  error: INVALID_PARAM", fw, 0x16);
    struct sev_user_data_snp_wrapped_vlek_hashstick wv;
    memset(&wv, 0x5A, sizeof wv);
    struct sev_user_data_snp_vlek_load vl = {.len = sizeof vl, .vlek_wrapped_address = (uint64_t)(uintptr_t)&wv};
    expect("SNP_VLEK_LOAD without a buffer", issue(rw, SNP_VLEK_LOAD, NULL, &fw), EINVAL);
    expect("SNP_VLEK_LOAD on a read-only file", issue(ro, SNP_VLEK_LOAD, &vl, &fw), EPERM);
    vl.len = 15;
    expect("SNP_VLEK_LOAD with len 15", issue(rw, SNP_VLEK_LOAD, &vl, &fw), EINVAL);
    vl.len = sizeof vl;
    vl.vlek_wrapped_version = 1;
    expect("SNP_VLEK_LOAD with wrapped version 1", issue(rw, SNP_VLEK_LOAD, &vl, &fw), EINVAL);
    vl.vlek_wrapped_version = 0;
    vl.vlek_wrapped_address = 0;
    expect("SNP_VLEK_LOAD without a wrapped key", issue(rw, SNP_VLEK_LOAD, &vl, &fw), EINVAL);
    vl.vlek_wrapped_address = (uint64_t)(uintptr_t)none;
    expect("SNP_VLEK_LOAD from an unreadable page", issue(rw, SNP_VLEK_LOAD, &vl, &fw), EFAULT);
    vl.vlek_wrapped_address = (uint64_t)(uintptr_t)&wv;
    expect("SNP_VLEK_LOAD of a key not wrapped for this chip", issue(rw, SNP_VLEK_LOAD, &vl, &fw), EIO);
    expect_u32("  error: BAD_SVN (the garbage's TCB is above the chip's)", fw, 0x21);

    /* Duplicates and close. */
    int d = dup(rw);
    expect("dup keeps the device", issue(d, SEV_PLATFORM_STATUS, &s, &fw), 0);
    close(d);
    expect("a closed descriptor", issue(d, SEV_PLATFORM_STATUS, &s, &fw), EBADF);
    int d2 = fcntl(rw, F_DUPFD_CLOEXEC, 100);
    expect("F_DUPFD_CLOEXEC keeps the device", issue(d2, SEV_PLATFORM_STATUS, &s, &fw), 0);
    close(d2);
    close(rw);
    close(ro);
    close(wo);
    free(big);
    return bad;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2)
        goto usage;
    const char *c = argv[1];
    if (!strcmp(c, "status") && argc == 2)
        return cmd_status();
    if (!strcmp(c, "pek-gen") && argc == 2)
        return cmd_simple(SEV_PEK_GEN, "PEK_GEN");
    if (!strcmp(c, "pdh-gen") && argc == 2)
        return cmd_simple(SEV_PDH_GEN, "PDH_GEN");
    if (!strcmp(c, "reset") && argc == 2)
        return cmd_simple(SEV_FACTORY_RESET, "FACTORY_RESET");
    if (!strcmp(c, "get-id") && argc == 2)
        return cmd_get_id();
    if (!strcmp(c, "get-id2") && argc == 2)
        return cmd_get_id2();
    if (!strcmp(c, "pek-csr") && argc == 3)
        return cmd_pek_csr(argv[2]);
    if (!strcmp(c, "pek-import") && argc == 4)
        return cmd_pek_import(argv[2], argv[3]);
    if (!strcmp(c, "pdh-export") && argc == 3)
        return cmd_pdh_export(argv[2]);
    if (!strcmp(c, "snp-status") && argc == 2)
        return cmd_snp_status();
    if (!strcmp(c, "snp-commit") && argc == 2)
        return cmd_simple(SNP_COMMIT, "SNP_COMMIT");
    if (!strcmp(c, "snp-config") && argc == 4)
        return cmd_snp_config(argv[2], argv[3]);
    if (!strcmp(c, "snp-vlek") && argc == 3)
        return cmd_snp_vlek(argv[2]);
    if (!strcmp(c, "hostile") && argc == 2)
        return cmd_hostile();
    if (!strcmp(c, "loop") && argc == 4) {
        int n = atoi(argv[2]);
        for (int i = 0; i < n; i++) {
            char *sub[] = {argv[0], argv[3], NULL};
            if (main(2, sub))
                return 1;
        }
        return 0;
    }
usage:
    fprintf(stderr, "usage: sev_ioctl status|pek-gen|pdh-gen|reset|get-id|get-id2|pek-csr FILE|"
                    "pek-import PEK OCA|pdh-export DIR|snp-status|snp-commit|snp-config TCB FLAGS|snp-vlek FILE|hostile|"
                    "loop N CMD\n");
    return 2;
}
