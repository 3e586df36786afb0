/* Benchmark: the guest-message core of MSG_REPORT_REQ, one round trip = the guest seals a
 * request, the firmware unwraps it, builds and signs the report (VCEK, ECDSA P-384), wraps the
 * response, and the guest opens it. Baseline in the same run: bare ECDSA P-384 signatures
 * through the same OpenSSL path (the floor of a signed report). Also MSG_KEY_REQ round trips.
 * Run: build/bench_snp_msg [seconds]   (default 2). Rates from this thread's CPU time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memcrypt/bytes.h>
#include <memcrypt/snp_guest_msg.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "snp/identity.h"

#include "bench_target.h"

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct mc_snp_identity *id;
static struct mc_snp_vmpck keys[4];
static struct mc_snp_msg_ctx ctx;
static uint64_t seq = 1;

static int round_trip(uint8_t type, const uint8_t *payload, size_t n)
{
    static uint8_t req[4096], rsp[4096], pl[4096], out[4096];
    struct mc_snp_msg_hdr h = {.seqno = seq, .msg_type = type, .msg_version = 1, .msg_vmpck = 0}, rh;
    size_t len = 0, rn = 0, on = 0;
    mc_fw_status fw;
    if (mc_snp_msg_seal(keys[0].key, &h, payload, n, req, sizeof req, &len, NULL) ||
        mc_snp_msg_fw_unwrap(keys, req, sizeof req, &h, pl, sizeof pl, &fw, NULL) || fw)
        return -1;
    if (type == MC_SNP_MSG_REPORT_REQ) {
        if (mc_snp_handle_report_req(id, &ctx, 0, pl, h.msg_size, out, NULL) || mc_le32(out))
            return -1;
        on = MC_SNP_REPORT_RSP_SIZE;
    } else {
        if (mc_snp_handle_key_req(id, &ctx, 0, pl, h.msg_size, out, NULL) || mc_le32(out))
            return -1;
        on = MC_SNP_KEY_RSP_SIZE;
    }
    if (mc_snp_msg_fw_wrap(keys, &h, out, on, rsp, sizeof rsp, &rn, &fw, NULL) || fw ||
        mc_snp_msg_open(keys[0].key, rsp, rn, &rh, pl, sizeof pl, NULL) || rh.seqno != seq + 1)
        return -1;
    seq += 2;
    return 0;
}

typedef int (*op_fn)(void);
static uint8_t report_req[MC_SNP_REPORT_REQ_SIZE], key_req[MC_SNP_KEY_REQ_SIZE];
static const struct mc_pk *vcek;
static int op_report(void) { return round_trip(MC_SNP_MSG_REPORT_REQ, report_req, sizeof report_req); }
static int op_key(void) { return round_trip(MC_SNP_MSG_KEY_REQ, key_req, sizeof key_req); }
static int op_sign(void)
{
    static uint8_t msg[0x2A0], r[72], s[72];
    msg[0]++;
    return mc_ecdsa_sign_le72(vcek, "SHA384", msg, sizeof msg, r, s, NULL) ? -1 : 0;
}

static double rate(op_fn f, double secs)
{
    unsigned long n = 0;
    double t0 = cpu(), t;
    do {
        for (int i = 0; i < 16; i++, n++)
            if (f()) {
                fprintf(stderr, "operation failed\n");
                exit(1);
            }
        t = cpu() - t0;
    } while (t < secs);
    return (double)n / t;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    if (secs <= 0)
        secs = 2.0;
    mc_crypto_init();
    static const uint8_t seed[] = "bench snp guest message root";
    struct mc_snp_identity_params p = {.gen = MC_SNP_GEN_GENOA, .chip_secret = (const uint8_t *)"bench snp guest message secret..",
                                       .root_seed = seed, .root_seed_len = sizeof seed - 1, .root_bits = 2048};
    struct mc_error e;
    if (mc_snp_identity_new(&p, &id, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    memset(&ctx, 0, sizeof ctx);
    ctx.report.policy = 0x30000;
    ctx.report.current_tcb = ctx.report.committed_tcb = ctx.report.reported_tcb = 0x5400000000000A0Aull;
    ctx.report.current_major = ctx.report.committed_major = 1;
    ctx.report.current_minor = ctx.report.committed_minor = 55;
    ctx.report.current_build = ctx.report.committed_build = 37;
    ctx.report.cpuid_fam_id = 0x19;
    ctx.report.cpuid_mod_id = 0x11;
    for (int i = 0; i < 4; i++)
        memset(keys[i].key, 0x5A + i, sizeof keys[i].key);
    struct mc_snp_report_req rq = {.vmpl = 0};
    mc_snp_report_req_encode(&rq, report_req);
    struct mc_snp_key_req kq = {.guest_field_select = MC_SNP_GFS_MEASUREMENT | MC_SNP_GFS_POLICY};
    uint8_t kb[MC_SNP_KEY_REQ_SIZE_MIT];
    mc_snp_key_req_encode(&kq, kb);
    memcpy(key_req, kb, sizeof key_req);
    if (mc_snp_identity_vcek_key(id, ctx.report.reported_tcb, &vcek, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    double sign = rate(op_sign, secs), rep = rate(op_report, secs), key = rate(op_key, secs);
    printf("ECDSA P-384 sign (baseline, same OpenSSL path)   %9.0f /s\n", sign);
    printf("MSG_REPORT_REQ round trip (seal, unwrap, build+sign, wrap, open) %9.0f /s  = %.2fx the baseline (target >= 0.8x)\n",
           rep, rep / sign);
    bench_target("bench_snp_msg", "MSG_REPORT_REQ round trips / ECDSA P-384 signs", rep / sign, ">=", 0.8,
                 "%.0f vs %.0f /s", rep, sign);
    printf("MSG_KEY_REQ round trip (VCEK seed cached)       %9.0f /s\n", key);
    mc_snp_identity_free(id);
    return 0;
}
