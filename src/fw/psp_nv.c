/* The firmware's persistent state: the sealed NV image (INIT_EX NV area) and the state file
 * (the emulated chip: its fused secret plus its SPI store), written atomically. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>

#include "crypto/aes.h"
#include "crypto/kdf.h"
#include <memcrypt/snp_identity.h>

#include "fw/psp_int.h"

#define NV_MAGIC "MCSEVNV1"
#define NV_VERSION 1u
#define NV_OFF_VERSION 8
#define NV_OFF_PLATFORM 12
#define NV_OFF_CHIPID (NV_OFF_PLATFORM + PSP_PLATFORM_NAME_LEN)
#define NV_OFF_OWNED (NV_OFF_CHIPID + 32)
#define NV_OFF_IDLEN (NV_OFF_OWNED + 4)
#define NV_OFF_IV (NV_OFF_IDLEN + 4)
#define NV_OFF_IDENT (NV_OFF_IV + 16)
#define NV_MAC_LEN 32
_Static_assert(NV_OFF_IDENT + PSP_IDENT_MAX + NV_MAC_LEN <= MC_SEV_NV_LEN, "the NV image must fit in 32 KiB");

#define ST_MAGIC "MCSEVCHP"
#define ST_VERSION 2u /* 1: no SNP section (still read) */
#define ST_OFF_PLATFORM 12
#define ST_OFF_SECRET (ST_OFF_PLATFORM + PSP_PLATFORM_NAME_LEN)
#define ST_OFF_IMGLEN (ST_OFF_SECRET + PSP_CHIP_SECRET_LEN)
#define ST_OFF_IMG (ST_OFF_IMGLEN + 4)

/* Version 2 appends the SNP section after the image: u32 length, then
 *     "MCSNPNV1", u32 flags (bit0 committed, bit1 VLEK), u64 committed TCB, u8 committed version
 *     (major, minor, build), u8 0, u64 SNP_CONFIG TCB, u32 SNP_CONFIG flags, u32 identity length,
 *     the identity (memcrypt/snp_identity.h's blob), HMAC-SHA256 over all of it under a key derived
 *     from the chip secret. */
#define SNP_MAGIC "MCSNPNV1"
#define SNP_OFF_FLAGS 8
#define SNP_OFF_CTCB 12
#define SNP_OFF_CVER 20
#define SNP_OFF_CFGTCB 24
#define SNP_OFF_CFGFLAGS 32
#define SNP_OFF_IDLEN 36
#define SNP_OFF_ID 40
#define SNP_IDENT_MAX 0x10000u
#define SNP_MAX (SNP_OFF_ID + SNP_IDENT_MAX + 32)

struct nv_keys {
    uint8_t chip_id[32], enc[16], mac[32];
};

static mc_status nv_keys(const uint8_t secret[PSP_CHIP_SECRET_LEN], struct nv_keys *k, struct mc_error *err)
{
    mc_status st = mc_kdf_sev(secret, PSP_CHIP_SECRET_LEN, "memcrypt-chip-id", NULL, 0, k->chip_id, 32, err);
    if (!st)
        st = mc_kdf_sev(secret, PSP_CHIP_SECRET_LEN, "memcrypt-nv-encryption", NULL, 0, k->enc, 16, err);
    if (!st)
        st = mc_kdf_sev(secret, PSP_CHIP_SECRET_LEN, "memcrypt-nv-integrity", NULL, 0, k->mac, 32, err);
    if (st == MC_E_NOMEM)
        return st;
    if (st)
        return mc_seterr(err, MC_E_CRYPTO, "cannot derive the persistent-state keys");
    return MC_OK;
}

mc_status psp_nv_encode(struct mc_psp *psp, const struct psp_nv *nv, uint8_t *out, size_t cap, bool pad, size_t *len,
                        struct mc_error *err)
{
    size_t need = NV_OFF_IDENT + nv->ident_len + NV_MAC_LEN;
    if (nv->ident_len > PSP_IDENT_MAX || cap < need)
        return mc_seterr(err, MC_E_RANGE, "the persistent state does not fit (%zu bytes)", need);
    struct nv_keys k;
    mc_status s = nv_keys(nv->chip_secret, &k, err);
    if (s)
        return s;
    memset(out, pad ? 0xFF : 0, pad ? cap : need);
    memcpy(out, NV_MAGIC, 8);
    mc_put_le32(out + NV_OFF_VERSION, NV_VERSION);
    memset(out + NV_OFF_PLATFORM, 0, PSP_PLATFORM_NAME_LEN);
    memcpy(out + NV_OFF_PLATFORM, psp->platform, strlen(psp->platform));
    memcpy(out + NV_OFF_CHIPID, k.chip_id, 32);
    mc_put_le32(out + NV_OFF_OWNED, nv->owned);
    mc_put_le32(out + NV_OFF_IDLEN, nv->ident_len);
    s = mc_rng_bytes(psp->rng, out + NV_OFF_IV, 16, err);
    if (!s && nv->ident_len)
        s = mc_aes128_ctr(k.enc, out + NV_OFF_IV, nv->ident, out + NV_OFF_IDENT, nv->ident_len, err);
    if (!s)
        s = mc_hmac_sha256(k.mac, sizeof k.mac, out, NV_OFF_IDENT + nv->ident_len, out + NV_OFF_IDENT + nv->ident_len,
                           err);
    mc_wipe(&k, sizeof k);
    if (s)
        return mc_seterr(err, MC_E_CRYPTO, "cannot seal the persistent state");
    *len = need;
    return MC_OK;
}

mc_status psp_nv_decode(const struct mc_psp *psp, const uint8_t chip_secret[PSP_CHIP_SECRET_LEN], const uint8_t *in,
                        size_t len, struct psp_nv *nv, const char *what, struct mc_error *err)
{
    if (len < NV_OFF_IDENT + NV_MAC_LEN || memcmp(in, NV_MAGIC, 8) != 0)
        return mc_seterr(err, MC_E_FORMAT, "%s does not hold memcrypt SEV firmware state", what);
    if (mc_le32(in + NV_OFF_VERSION) != NV_VERSION)
        return mc_seterr(err, MC_E_FORMAT, "%s has format version %u; this build reads version %u", what,
                         mc_le32(in + NV_OFF_VERSION), NV_VERSION);
    char plat[PSP_PLATFORM_NAME_LEN + 1];
    memcpy(plat, in + NV_OFF_PLATFORM, PSP_PLATFORM_NAME_LEN);
    plat[PSP_PLATFORM_NAME_LEN] = 0;
    for (size_t i = 0; plat[i]; i++)
        if (plat[i] < 0x20 || plat[i] > 0x7E)
            plat[i] = '?';
    if (strcmp(plat, psp->platform) != 0)
        return mc_seterr(err, MC_E_FORMAT, "%s was written for platform '%s', not '%s'", what, plat, psp->platform);
    uint32_t idlen = mc_le32(in + NV_OFF_IDLEN);
    uint32_t owned = mc_le32(in + NV_OFF_OWNED);
    if (idlen > PSP_IDENT_MAX || NV_OFF_IDENT + (size_t)idlen + NV_MAC_LEN > len || owned > 1)
        return mc_seterr(err, MC_E_FORMAT, "%s is corrupt (bad lengths or flags)", what);
    for (size_t i = NV_OFF_IDENT + (size_t)idlen + NV_MAC_LEN; i < len; i++)
        if (in[i] != 0xFF)
            return mc_seterr(err, MC_E_FORMAT, "%s is corrupt (data after the end of the image)", what);
    struct nv_keys k;
    mc_status s = nv_keys(chip_secret, &k, err);
    if (s)
        return s;
    uint8_t mac[32];
    if (!mc_ct_equal(k.chip_id, in + NV_OFF_CHIPID, 32)) {
        mc_wipe(&k, sizeof k);
        return mc_seterr(err, MC_E_FORMAT, "%s belongs to another chip", what);
    }
    s = mc_hmac_sha256(k.mac, sizeof k.mac, in, NV_OFF_IDENT + idlen, mac, err);
    if (!s && !mc_ct_equal(mac, in + NV_OFF_IDENT + idlen, 32))
        s = mc_seterr(err, MC_E_FORMAT, "%s is corrupt (integrity check failed)", what);
    if (!s && idlen)
        s = mc_aes128_ctr(k.enc, in + NV_OFF_IV, in + NV_OFF_IDENT, nv->ident, idlen, err);
    mc_wipe(&k, sizeof k);
    if (s)
        return s == MC_E_FORMAT ? s : mc_seterr(err, MC_E_CRYPTO, "cannot unseal %s", what);
    if (idlen < PSP_IDENT_MAX)
        mc_wipe(nv->ident + idlen, PSP_IDENT_MAX - idlen);
    nv->ident_len = idlen;
    nv->owned = owned;
    return MC_OK;
}

static mc_status snp_mac_key(const uint8_t secret[PSP_CHIP_SECRET_LEN], uint8_t key[32], struct mc_error *err)
{
    return mc_kdf_sev(secret, PSP_CHIP_SECRET_LEN, "memcrypt-snp-nv-integrity", NULL, 0, key, 32, err);
}

/* Encode the SNP section into out (SNP_MAX bytes); *len = its length. */
static mc_status snp_encode(const uint8_t secret[PSP_CHIP_SECRET_LEN], const struct psp_snp_nv *n, uint8_t *out,
                            size_t *len, struct mc_error *err)
{
    if (n->ident_len > SNP_IDENT_MAX)
        return mc_seterr(err, MC_E_RANGE, "the SNP identity does not fit the state file (%u bytes)", n->ident_len);
    memset(out, 0, SNP_OFF_ID);
    memcpy(out, SNP_MAGIC, 8);
    mc_put_le32(out + SNP_OFF_FLAGS, (n->committed_set ? 1u : 0) | (n->vlek ? 2u : 0));
    mc_put_le64(out + SNP_OFF_CTCB, n->committed_tcb);
    memcpy(out + SNP_OFF_CVER, n->committed_ver, 3);
    mc_put_le64(out + SNP_OFF_CFGTCB, n->config_tcb);
    mc_put_le32(out + SNP_OFF_CFGFLAGS, n->config_flags);
    mc_put_le32(out + SNP_OFF_IDLEN, n->ident_len);
    if (n->ident_len)
        memcpy(out + SNP_OFF_ID, n->ident, n->ident_len);
    uint8_t key[32];
    mc_status s = snp_mac_key(secret, key, err);
    if (!s)
        s = mc_hmac_sha256(key, sizeof key, out, SNP_OFF_ID + n->ident_len, out + SNP_OFF_ID + n->ident_len, err);
    mc_wipe(key, sizeof key);
    *len = SNP_OFF_ID + n->ident_len + 32;
    return s;
}

/* Decode a hostile SNP section into n (n->ident malloc'd). */
static mc_status snp_decode(const uint8_t secret[PSP_CHIP_SECRET_LEN], const uint8_t *in, size_t len,
                            struct psp_snp_nv *n, const char *what, struct mc_error *err)
{
    memset(n, 0, sizeof *n);
    if (len < SNP_OFF_ID + 32 || memcmp(in, SNP_MAGIC, 8) != 0)
        return mc_seterr(err, MC_E_FORMAT, "%s has a malformed SNP section", what);
    uint32_t flags = mc_le32(in + SNP_OFF_FLAGS), idlen = mc_le32(in + SNP_OFF_IDLEN);
    if ((flags & ~3u) || in[SNP_OFF_CVER + 3] || idlen > SNP_IDENT_MAX || (size_t)SNP_OFF_ID + idlen + 32 != len ||
        ((flags & 2u) && !idlen) || (mc_le32(in + SNP_OFF_CFGFLAGS) & ~3u))
        return mc_seterr(err, MC_E_FORMAT, "%s has a corrupt SNP section (flags or lengths)", what);
    uint8_t key[32], mac[32];
    mc_status s = snp_mac_key(secret, key, err);
    if (!s)
        s = mc_hmac_sha256(key, sizeof key, in, SNP_OFF_ID + idlen, mac, err);
    mc_wipe(key, sizeof key);
    if (s)
        return s;
    if (!mc_ct_equal(mac, in + SNP_OFF_ID + idlen, 32))
        return mc_seterr(err, MC_E_FORMAT, "%s is corrupt (SNP section: integrity check failed)", what);
    n->committed_set = flags & 1u;
    n->vlek = (flags & 2u) != 0;
    n->committed_tcb = mc_le64(in + SNP_OFF_CTCB);
    memcpy(n->committed_ver, in + SNP_OFF_CVER, 3);
    n->config_tcb = mc_le64(in + SNP_OFF_CFGTCB);
    n->config_flags = mc_le32(in + SNP_OFF_CFGFLAGS);
    if (idlen) {
        n->ident = malloc(idlen);
        if (!n->ident)
            return mc_seterr(err, MC_E_NOMEM, "out of memory");
        memcpy(n->ident, in + SNP_OFF_ID, idlen);
        n->ident_len = idlen;
    }
    return MC_OK;
}

/* Remember the state file as it is now (after reading or writing it); seen_matches: still so. */
static void seen_record(struct mc_psp *psp)
{
    struct stat st;
    psp->seen = stat(psp->state_path, &st) == 0;
    if (psp->seen) {
        psp->seen_dev = st.st_dev;
        psp->seen_ino = st.st_ino;
        psp->seen_size = st.st_size;
        psp->seen_mtime = st.st_mtim;
        psp->seen_ctime = st.st_ctim;
    }
}

static bool seen_matches(const struct mc_psp *psp)
{
    struct stat st;
    return psp->seen && stat(psp->state_path, &st) == 0 && st.st_dev == psp->seen_dev && st.st_ino == psp->seen_ino &&
           st.st_size == psp->seen_size && st.st_mtim.tv_sec == psp->seen_mtime.tv_sec &&
           st.st_mtim.tv_nsec == psp->seen_mtime.tv_nsec && st.st_ctim.tv_sec == psp->seen_ctime.tv_sec &&
           st.st_ctim.tv_nsec == psp->seen_ctime.tv_nsec;
}

static mc_status write_state_file(struct mc_psp *psp, const struct psp_nv *nv, const struct psp_snp_nv *snp,
                                  struct mc_error *err)
{
    size_t cap = ST_OFF_IMG + MC_SEV_NV_LEN + 4 + SNP_MAX, ilen = 0, slen = 0;
    uint8_t *f = calloc(1, cap);
    if (!f)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    memcpy(f, ST_MAGIC, 8);
    mc_put_le32(f + 8, ST_VERSION);
    memcpy(f + ST_OFF_PLATFORM, psp->platform, strlen(psp->platform));
    memcpy(f + ST_OFF_SECRET, nv->chip_secret, PSP_CHIP_SECRET_LEN);
    mc_status s = psp_nv_encode(psp, nv, f + ST_OFF_IMG, MC_SEV_NV_LEN, false, &ilen, err);
    if (!s) {
        mc_put_le32(f + ST_OFF_IMGLEN, (uint32_t)ilen);
        s = snp_encode(nv->chip_secret, snp, f + ST_OFF_IMG + ilen + 4, &slen, err);
    }
    if (!s) {
        mc_put_le32(f + ST_OFF_IMG + ilen, (uint32_t)slen);
        s = mc_file_write_atomic(psp->state_path, f, ST_OFF_IMG + ilen + 4 + slen, err);
    }
    if (s)
        psp->seen = false;
    else
        seen_record(psp);
    mc_wipe(f, cap);
    free(f);
    return s;
}

mc_status psp_nv_save_snp(struct mc_psp *psp, const struct psp_snp_nv *snp, struct mc_error *err)
{
    if (!psp->state_path)
        return MC_OK;
    if (psp->state_lock < 0)
        return mc_seterr(err, MC_E_STATE, "the state file %s is not locked by this firmware (released; "
                         "mc_psp_state_acquire first)", psp->state_path);
    return write_state_file(psp, &psp->nv, snp, err);
}

mc_status psp_nv_save(struct mc_psp *psp, const struct psp_nv *nv, struct mc_error *err)
{
    if (psp->nv_in_dram) {
        uint8_t *img = malloc(MC_SEV_NV_LEN);
        size_t n;
        if (!img)
            return mc_seterr(err, MC_E_NOMEM, "out of memory");
        mc_status s = psp_nv_encode(psp, nv, img, MC_SEV_NV_LEN, true, &n, err);
        if (!s && psp_host_write(psp, psp->nv_paddr, img, MC_SEV_NV_LEN, err) != MC_FW_SUCCESS)
            s = mc_seterr(err, MC_E_IO, "cannot write the INIT_EX NV area");
        free(img);
        return s;
    }
    if (!psp->state_path)
        return MC_OK;
    if (psp->state_lock < 0)
        return mc_seterr(err, MC_E_STATE, "the state file %s is not locked by this firmware (released; "
                         "mc_psp_state_acquire first)", psp->state_path);
    return write_state_file(psp, nv, &psp->snp.nv, err);
}

static mc_status load_file(struct mc_psp *psp, struct mc_error *err)
{
    struct stat st;
    if (lstat(psp->state_path, &st) != 0) {
        if (errno != ENOENT)
            return mc_seterr(err, MC_E_IO, "%s: %s", psp->state_path, strerror(errno));
        /* A new chip: fresh fused secret, nothing else yet. */
        struct psp_nv *n = calloc(1, sizeof *n);
        if (!n)
            return mc_seterr(err, MC_E_NOMEM, "out of memory");
        mc_status s = mc_rng_bytes(psp->rng, n->chip_secret, PSP_CHIP_SECRET_LEN, err);
        struct psp_snp_nv empty;
        memset(&empty, 0, sizeof empty);
        if (!s)
            s = write_state_file(psp, n, &empty, err);
        if (!s) {
            memcpy(&psp->nv, n, sizeof *n);
            psp_snp_nv_clear(&psp->snp.nv);
            mc_sev_identity_destroy(psp->id);
            psp->id = NULL;
        }
        mc_wipe(n, sizeof *n);
        free(n);
        return s;
    }
    uint8_t *f;
    size_t len;
    mc_status s = mc_file_read(psp->state_path, ST_OFF_IMG + MC_SEV_NV_LEN + 4 + SNP_MAX, &f, &len, err);
    if (s)
        return s;
    const char *p = psp->state_path;
    uint32_t ver = len >= ST_OFF_IMG ? mc_le32(f + 8) : 0;
    size_t imglen = len >= ST_OFF_IMG ? mc_le32(f + ST_OFF_IMGLEN) : 0, snpat = 0, snplen = 0;
    if (len < ST_OFF_IMG || memcmp(f, ST_MAGIC, 8) != 0)
        s = mc_seterr(err, MC_E_FORMAT, "%s is not a memcrypt SEV firmware state file", p);
    else if (ver != 1 && ver != ST_VERSION)
        s = mc_seterr(err, MC_E_FORMAT, "%s has format version %u; this build reads versions 1 and %u", p, ver,
                      ST_VERSION);
    else if (ver == 1 ? imglen != len - ST_OFF_IMG
                      : (imglen > len - ST_OFF_IMG || len - ST_OFF_IMG - imglen < 4 ||
                         (snplen = mc_le32(f + ST_OFF_IMG + imglen)) != len - ST_OFF_IMG - imglen - 4))
        s = mc_seterr(err, MC_E_FORMAT, "%s is truncated or corrupt (length mismatch)", p);
    else if (strnlen((const char *)f + ST_OFF_PLATFORM, PSP_PLATFORM_NAME_LEN) == PSP_PLATFORM_NAME_LEN)
        s = mc_seterr(err, MC_E_FORMAT, "%s names no platform (corrupt)", p);
    else if (strncmp((const char *)f + ST_OFF_PLATFORM, psp->platform, PSP_PLATFORM_NAME_LEN) != 0)
        s = mc_seterr(err, MC_E_FORMAT, "%s belongs to another platform: a '%.*s' chip, not '%s'", p,
                      (int)strspn((const char *)f + ST_OFF_PLATFORM, "abcdefghijklmnopqrstuvwxyz0123456789-_"),
                      (const char *)f + ST_OFF_PLATFORM, psp->platform);
    snpat = ST_OFF_IMG + imglen + 4;
    if (!s) {
        struct psp_nv *n = calloc(1, sizeof *n);
        if (!n) {
            s = mc_seterr(err, MC_E_NOMEM, "out of memory");
        } else {
            memcpy(n->chip_secret, f + ST_OFF_SECRET, PSP_CHIP_SECRET_LEN);
            char what[600];
            snprintf(what, sizeof what, "state file %s", p);
            struct psp_snp_nv sn;
            memset(&sn, 0, sizeof sn);
            s = psp_nv_decode(psp, n->chip_secret, f + ST_OFF_IMG, imglen, n, what, err);
            if (!s && ver >= 2)
                s = snp_decode(n->chip_secret, f + snpat, snplen, &sn, what, err);
            if (!s) {
                psp_snp_nv_clear(&psp->snp.nv);
                psp->snp.nv = sn;
                memset(&sn, 0, sizeof sn);
                mc_snp_identity_destroy(psp->snp.id); /* re-read from the new state on first use */
                psp->snp.id = NULL;
                memcpy(&psp->nv, n, sizeof *n);
                struct mc_error e2 = {0};
                uint32_t fs = psp_id_reload(psp, &e2);
                if (fs == MC_FW_HWERROR_PLATFORM)
                    s = mc_seterr(err, MC_E_NOMEM, "%s: %s", what, e2.msg);
                else if (fs != MC_FW_SUCCESS)
                    s = mc_seterr(err, MC_E_FORMAT, "%s holds an invalid platform identity: %s", what, e2.msg);
            }
            psp_snp_nv_clear(&sn);
            mc_wipe(n, sizeof *n);
            free(n);
        }
    }
    mc_wipe(f, len);
    free(f);
    if (!s)
        seen_record(psp);
    else
        psp->seen = false;
    return s;
}

mc_status psp_nv_open(struct mc_psp *psp, unsigned wait_ms, struct mc_error *err)
{
    if (!psp->state_path || psp->state_lock >= 0)
        return MC_OK;
    mc_status s = mc_file_lock(psp->state_path, wait_ms ? wait_ms : MC_PSP_STATE_WAIT_MS, &psp->state_lock, err);
    if (s)
        return s;
    /* Holding the lock, any STATE.tmpXXXXXX is a copy (with the chip secret) that a process
     * killed while writing left behind: nobody else writes the state now. */
    mc_file_remove_stale_temps(psp->state_path);
    if (seen_matches(psp)) /* nobody wrote it since: the firmware holds what it says */
        return MC_OK;
    s = load_file(psp, err);
    if (s) {
        mc_file_unlock(psp->state_lock);
        psp->state_lock = -1;
    }
    return s;
}

mc_status mc_psp_state_acquire(struct mc_psp *psp, unsigned wait_ms, struct mc_error *err)
{
    if (!psp)
        return mc_seterr(err, MC_E_INVAL, "mc_psp_state_acquire: NULL firmware");
    return psp_nv_open(psp, wait_ms, err);
}

void mc_psp_state_release(struct mc_psp *psp)
{
    if (psp && psp->state_lock >= 0) {
        mc_file_unlock(psp->state_lock);
        psp->state_lock = -1;
    }
}

bool mc_psp_state_locked(const struct mc_psp *psp)
{
    return psp && psp->state_lock >= 0;
}

mc_status mc_psp_state_file_platform(const char *path, char name[32], struct mc_error *err)
{
    memset(name, 0, 32);
    uint8_t *f;
    size_t len;
    mc_status s = mc_file_read(path, ST_OFF_IMG + MC_SEV_NV_LEN, &f, &len, err);
    if (s)
        return s;
    if (len < ST_OFF_IMG || memcmp(f, ST_MAGIC, 8) != 0)
        s = mc_seterr(err, MC_E_FORMAT, "%s is not a memcrypt SEV firmware state file", path);
    else if (mc_le32(f + 8) != ST_VERSION)
        s = mc_seterr(err, MC_E_FORMAT, "%s has format version %u; this build reads version %u", path,
                      mc_le32(f + 8), ST_VERSION);
    else if (strnlen((const char *)f + ST_OFF_PLATFORM, PSP_PLATFORM_NAME_LEN) == PSP_PLATFORM_NAME_LEN ||
             f[ST_OFF_PLATFORM] == 0)
        s = mc_seterr(err, MC_E_FORMAT, "%s names no platform", path);
    else
        memcpy(name, f + ST_OFF_PLATFORM, strlen((const char *)f + ST_OFF_PLATFORM));
    mc_wipe(f, len);
    free(f);
    return s;
}
