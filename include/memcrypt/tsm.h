/* memcrypt — configfs-tsm (Linux 6.7, drivers/virt/coco/tsm.c; Documentation/ABI/testing/configfs-tsm):
 * the attestation report items under /sys/kernel/config/tsm/report/, with the SEV-SNP provider of
 * the sev-guest driver (memcrypt/sevguest.h) behind them.
 *
 * configfs-tsm has no uapi header: the ABI is the tree of paths and the attributes' semantics,
 * which this module follows (docs/kernel-interfaces.md has the table):
 *   /sys/kernel/config/tsm/report/          mkdir NAME makes a report item, rmdir removes it
 *   .../report/NAME/inblob      binary, write only (0200), at most 64 bytes: the report data; the
 *                               buffer is stored when the file is released, and advances generation
 *   .../report/NAME/outblob     binary, read only (0444): the report, made by the provider at the
 *                               first read after inblob or privlevel changed (cached otherwise);
 *                               -EINVAL without an inblob
 *   .../report/NAME/auxblob     binary, read only: the provider's auxiliary data (SEV-SNP: the
 *                               certificate table of the extended report), made with outblob
 *   .../report/NAME/provider    read only: "sev_guest\n"
 *   .../report/NAME/generation  read only: "%lu\n", the writes to inblob and privlevel so far
 *   .../report/NAME/privlevel   write only: an unsigned integer, privlevel_floor..3 (-EINVAL
 *                               otherwise); advances generation
 *   .../report/NAME/privlevel_floor  read only: "%u\n", the VMPCK the driver uses
 * A write that would bring generation round to the last one read is -EBUSY (tsm.c's
 * try_advance_write_generation).
 *
 * The kernel keeps the tree in memory, shared by every process; here it lives in a state file
 * beside the guest (locked for each operation, rewritten atomically), so `mkdir`, `echo >` and
 * `cat` in three processes see one tree. Every function returns 0 (or a byte count) or a negative
 * errno, as the VFS and configfs would give it.
 */
#ifndef MEMCRYPT_TSM_H
#define MEMCRYPT_TSM_H

#include <memcrypt/api.h>

#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/sevguest.h>

MC_BEGIN_DECLS

#define MC_TSM_ROOT "/sys/kernel/config/tsm"
#define MC_TSM_INBLOB_MAX 64u       /* TSM_INBLOB_MAX */
#define MC_TSM_OUTBLOB_MAX 0x8000u  /* TSM_OUTBLOB_MAX (SZ_32K) */
#define MC_TSM_PRIVLEVEL_MAX 3u     /* TSM_PRIVLEVEL_MAX */
#define MC_TSM_NAME_MAX 255u

enum mc_tsm_attr {
    MC_TSM_INBLOB, MC_TSM_OUTBLOB, MC_TSM_AUXBLOB, MC_TSM_PROVIDER, MC_TSM_GENERATION, MC_TSM_PRIVLEVEL,
    MC_TSM_PRIVLEVEL_FLOOR, MC_TSM_NATTR
};

/* What a path is. */
enum mc_tsm_node { MC_TSM_DIR = 1, MC_TSM_ITEM, MC_TSM_FILE };

struct mc_tsm_config {
    const char *state_path;    /* the tree's state file (e.g. GUEST ".tsm"); required */
    unsigned wait_ms;          /* lock wait; 0 = 30 s */
    struct mc_sevguest *guest; /* the provider (borrowed; outlives the tree; may come later) */
    unsigned privlevel_floor;  /* the provider's floor (the VMPCK in use) */
};

struct mc_tsm;
MC_API mc_status mc_tsm_create(const struct mc_tsm_config *cfg, struct mc_tsm **out, struct mc_error *err);
MC_API void mc_tsm_destroy(struct mc_tsm *t); /* NULL is fine */
/* The provider, when it was not known at mc_tsm_create (made on first need). */
MC_API void mc_tsm_set_guest(struct mc_tsm *t, struct mc_sevguest *g);

/* Name an absolute, normalised path: 1 when it is not under MC_TSM_ROOT (not this tree's), or 0 with
 * *node DIR (MC_TSM_ROOT, its report folder), ITEM (a report item; *name), FILE (an attribute; *name,
 * *attr); -ENOENT for what does not exist under the tree (an unknown item or attribute). */
MC_API int mc_tsm_lookup(struct mc_tsm *t, const char *path, enum mc_tsm_node *node, char name[MC_TSM_NAME_MAX + 1],
                         enum mc_tsm_attr *attr);
/* The attribute's mode bits (0444 read only, 0200 write only) and whether it is binary. */
MC_API unsigned mc_tsm_attr_mode(enum mc_tsm_attr a);
MC_API int mc_tsm_attr_binary(enum mc_tsm_attr a);
MC_API const char *mc_tsm_attr_name(enum mc_tsm_attr a);

/* mkdir/rmdir of an item in the report folder: -EEXIST, -ENOENT, -ENAMETOOLONG, -EINVAL as the VFS. */
MC_API int mc_tsm_mkdir(struct mc_tsm *t, const char *name);
MC_API int mc_tsm_rmdir(struct mc_tsm *t, const char *name);
/* The names in a folder of the tree (path as for mc_tsm_lookup), as configfs's readdir gives them
 * after "." and "..": MC_TSM_ROOT holds "report"; the report folder its items, the most recently
 * made first; an item its attributes, the last made first (auxblob, outblob, inblob,
 * privlevel_floor, privlevel, provider, generation). *names (malloc'd, *len bytes) holds each name
 * followed by a NUL. 0, -ENOENT (nothing there), -ENOTDIR (an attribute), -EIO/-EBUSY (the state). */
MC_API int mc_tsm_list(struct mc_tsm *t, const char *path, char **names, size_t *len);
/* What the first read of an open attribute file gets (configfs fills its buffer once per open
 * file): *out (malloc'd, *len bytes; may be empty). outblob/auxblob make the report when needed. */
MC_API int mc_tsm_read(struct mc_tsm *t, const char *name, enum mc_tsm_attr a, uint8_t **out, size_t *len,
                       struct mc_error *err);
/* A store: privlevel at each write(), inblob at the release of a file written to (the whole
 * buffer). Returns len or a negative errno. */
MC_API long mc_tsm_store(struct mc_tsm *t, const char *name, enum mc_tsm_attr a, const uint8_t *buf, size_t len,
                         struct mc_error *err);

MC_END_DECLS

#endif
