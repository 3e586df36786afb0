/* memcrypt — SEV-SNP fixture factory: a test root (ARK, ASK or ASVK, VCEK or VLEK) as real X.509,
 * and attestation reports signed with the test VCEK/VLEK, for CI without hardware.
 *
 * Every certificate's subject is marked "memcrypt TEST ROOT (not AMD)", so nothing made here can
 * be mistaken for AMD's; `report verify` trusts it only with --roots DIR. Keys are written in
 * clear PEM next to the certificates: this is test material.
 * With a seed, keys, serial numbers, signatures and random fields are reproducible (OpenSSL's
 * TEST-RAND fed from the seed); without, they come from the OS.
 *
 * Why public: verifier authors test their own code against these chains and reports from C
 * (`memcrypt fixtures` is a thin wrapper); it is the only way to get a signed report with a
 * chosen field without an AMD chip.
 */
#ifndef MEMCRYPT_SNP_FIXTURE_H
#define MEMCRYPT_SNP_FIXTURE_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/snp_report.h>

MC_BEGIN_DECLS

struct mc_outset;

struct mc_snp_fixture_root_opts {
    enum mc_snp_gen gen;           /* UNKNOWN -> Milan */
    bool vlek;                     /* ASVK + VLEK (no hwID, with cspID) instead of ASK + VCEK */
    const uint8_t *seed; size_t seed_len; /* NULL: OS randomness */
    bool has_chip_id; uint8_t chip_id[64]; /* VCEK hwID (Turin: first 8 bytes); default random */
    bool has_tcb; uint64_t tcb;    /* SPLs in the generation's layout; default a real-looking TCB */
};

/* Create dir (if missing; its parent must exist) and write, all or nothing (memcrypt/fileio.h): ark.pem, ark-key.pem, ask.pem|asvk.pem (+ -key.pem),
 * vcek.der|vlek.der (+ .pem, -key.pem), cert_chain.pem (ASK/ASVK then ARK, like AMD's KDS),
 * certtable.bin (the extended-report certificate table). */
MC_API mc_status mc_snp_fixture_make_root(const char *dir, const struct mc_snp_fixture_root_opts *o, struct mc_error *err);

/* What mc_snp_fixture_make_root_from did. */
struct mc_snp_fixture_root_info {
    enum mc_snp_gen gen;       /* the existing root's */
    bool new_intermediate;     /* the root had no ASK (VCEK) / ASVK (VLEK): one was made under its ARK */
};
/* A new VCEK (VLEK with o->vlek) under the existing test root in root_dir (a folder written by
 * mc_snp_fixture_make_root or this function), as AMD issues one per chip and per TCB under one
 * ARK and ASK: the ARK is root_dir's; the ASK (ASVK) too when root_dir has one, else a new RSA-4096
 * one signed by that ARK; the leaf is new (o's chip_id, TCB, seed). dir gets the same files as
 * mc_snp_fixture_make_root writes, all or nothing. o->gen: MC_SNP_GEN_UNKNOWN takes the root's
 * generation; any other must be it. tcb_spec (or NULL): "bl=N,tee=N,snp=N,ucode=N[,fmc=N]" or raw,
 * read in the root's generation's layout, instead of o->tcb. root_dir is untrusted input: its
 * certificates must parse, be marked as memcrypt test roots (OU "memcrypt TEST ROOT (not AMD)"),
 * be RSA-4096 CAs of one generation with a verifying ARK -> ASK/ASVK chain, and each private key
 * must be its certificate's; every failure names the file (MC_E_NOTFOUND, MC_E_FORMAT or
 * MC_E_INVAL) and writes nothing. dir must not be root_dir. info may be NULL. */
MC_API mc_status mc_snp_fixture_make_root_from(const char *dir, const char *root_dir,
                                               const struct mc_snp_fixture_root_opts *o, const char *tcb_spec,
                                               struct mc_snp_fixture_root_info *info, struct mc_error *err);

enum mc_snp_negative { MC_SNP_NEG_NONE = 0, MC_SNP_NEG_WRONG_HWID, MC_SNP_NEG_EXPIRED, MC_SNP_NEG_BAD_SIGNATURE,
                       MC_SNP_NEG_TCB_MISMATCH };
/* "wrong-hwid", "expired", "bad-signature", "tcb-mismatch" -> enum; -1 when unknown. */
MC_API int mc_snp_negative_parse(const char *s);

struct mc_snp_fixture_report_opts {
    const char *key_dir;           /* a folder written by mc_snp_fixture_make_root */
    const uint8_t *seed; size_t seed_len;
    uint32_t version;              /* 2, 3, 4 or 5; 0 -> 5 */
    bool has_measurement;   uint8_t measurement[48];
    bool has_report_data;   uint8_t report_data[64];
    bool has_host_data;     uint8_t host_data[32];
    bool has_id_key_digest; uint8_t id_key_digest[48];
    bool has_policy;        uint64_t policy;   /* default 0x30000 */
    bool has_tcb;           uint64_t tcb;      /* default: the certificate's SPLs */
    const char *tcb_spec;   /* or "bl=N,tee=N,snp=N,ucode=N[,fmc=N]" / raw, read in the certificate's layout */
    bool has_chip_id;       uint8_t chip_id[64]; /* default: the certificate's hwID */
    uint32_t vmpl, guest_svn;
    enum mc_snp_negative negative;
    const char *expired_cert_out;  /* MC_SNP_NEG_EXPIRED: where to write the expired VCEK/VLEK (DER) */
    struct mc_outset *outputs;     /* if set, expired_cert_out is added to it (the caller commits it
                                      with its own outputs); else written at once */
};

/* Sign a report with the VCEK/VLEK key in key_dir; fields default to values that verify
 * against that certificate. A negative fixture breaks exactly one thing. */
MC_API mc_status mc_snp_fixture_make_report(const struct mc_snp_fixture_report_opts *o, uint8_t out[MC_SNP_REPORT_SIZE],
                                     struct mc_error *err);

/* ---- an emulated chip (docs/snp-platform.md) ----
 * The emulated SNP chip's own identity rather than a test root: its EMULATED ARK/ASK/ASVK and
 * VCEK (VLEK) certificates, exported as mc_snp_identity_export does, and optionally an
 * attestation report signed by it through the firmware's report builder — what the SNP firmware
 * will sign, for CI until it runs guests. No private key is written. The roots are the
 * generation's fixed emulated ARK/ASK/ASVK (the same as every emulated chip's of that generation,
 * public by design; memcrypt/snp_identity.h). With a seed the chip secret, CHIP_ID and VLEK are
 * reproducible (the certificate signatures are not). */
struct mc_snp_fixture_chip_opts {
    enum mc_snp_gen gen;            /* UNKNOWN -> Milan */
    const uint8_t *seed; size_t seed_len; /* NULL: OS randomness */
    bool has_tcb; uint64_t tcb;     /* the chip's TCB (current = committed = reported); default real-looking */
    bool vlek;                      /* load a VLEK wrapped for this chip; the report is signed with it */
    const char *report_out;         /* NULL: no report */
    uint8_t report_data[64];
    uint32_t vmpl;
};
MC_API mc_status mc_snp_fixture_make_chip(const char *dir, const struct mc_snp_fixture_chip_opts *o, struct mc_error *err);

MC_END_DECLS

#endif
