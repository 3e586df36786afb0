/* configfs-tsm report items (memcrypt/tsm.h): Linux 6.7's drivers/virt/coco/tsm.c — generation
 * counters, privlevel range, the cached report regenerated when inblob or privlevel changed — with
 * the tree kept in a locked state file so that separate processes share it as they share the
 * kernel's.
 *
 * State file ("MCTSM001", little-endian): u32 item count · per item: u16 name length, name, u32
 * inblob length, inblob [64], u32 privlevel, u64 write generation, u64 read generation, u32 flags
 * (bit 0: a report is cached), u32 outblob length, outblob, u32 auxblob length, auxblob. Checked
 * on loading; a damaged file is -EIO with a sentence. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <memcrypt/bytes.h>
#include <memcrypt/crypto.h>
#include <memcrypt/fileio.h>
#include <memcrypt/psp.h>
#include <memcrypt/tsm.h>

#define MAGIC "MCTSM001"
#define MAX_ITEMS 256u
#define PROVIDER "sev_guest" /* KBUILD_MODNAME of drivers/virt/coco/sev-guest */

struct item {
    char name[MC_TSM_NAME_MAX + 1];
    uint8_t inblob[MC_TSM_INBLOB_MAX];
    uint32_t inblob_len, privlevel;
    uint64_t write_gen, read_gen;
    bool cached;
    uint8_t *out, *aux;
    uint32_t out_len, aux_len;
};

struct mc_tsm {
    char *path;
    unsigned wait_ms;
    struct mc_sevguest *guest;
    unsigned floor;
    int lock_fd;
    struct item *items;
    size_t n;
};

static const char *const names[MC_TSM_NATTR] = {"inblob", "outblob", "auxblob", "provider", "generation", "privlevel",
                                                 "privlevel_floor"};

const char *mc_tsm_attr_name(enum mc_tsm_attr a) { return (unsigned)a < MC_TSM_NATTR ? names[a] : "?"; }
unsigned mc_tsm_attr_mode(enum mc_tsm_attr a) { return a == MC_TSM_INBLOB || a == MC_TSM_PRIVLEVEL ? 0200u : 0444u; }
int mc_tsm_attr_binary(enum mc_tsm_attr a) { return a == MC_TSM_INBLOB || a == MC_TSM_OUTBLOB || a == MC_TSM_AUXBLOB; }

static void clear_items(struct mc_tsm *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->items[i].out);
        free(t->items[i].aux);
    }
    free(t->items);
    t->items = NULL;
    t->n = 0;
}

/* ---- the state file --------------------------------------------------------------------------- */

struct rd {
    const uint8_t *p;
    size_t n, off;
    bool bad;
};

static const uint8_t *take(struct rd *r, size_t k)
{
    if (r->bad || k > r->n - r->off) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *q = r->p + r->off;
    r->off += k;
    return q;
}
static uint32_t take32(struct rd *r)
{
    const uint8_t *q = take(r, 4);
    return q ? mc_le32(q) : 0;
}
static uint64_t take64(struct rd *r)
{
    const uint8_t *q = take(r, 8);
    return q ? mc_le64(q) : 0;
}

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > MC_TSM_NAME_MAX || memchr(s, '/', n) || memchr(s, 0, n))
        return false;
    return !(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' && s[1] == '.');
}

static mc_status decode(struct mc_tsm *t, const uint8_t *p, size_t n, struct mc_error *err)
{
    struct rd r = {p, n, 0, false};
    const uint8_t *m = take(&r, 8);
    if (!m || memcmp(m, MAGIC, 8) != 0)
        return mc_seterr(err, MC_E_FORMAT, "%s is not a configfs-tsm state file", t->path);
    uint32_t cnt = take32(&r);
    if (cnt > MAX_ITEMS)
        return mc_seterr(err, MC_E_FORMAT, "%s holds %u report items (at most %u)", t->path, cnt, MAX_ITEMS);
    struct item *it = calloc(cnt ? cnt : 1, sizeof *it);
    if (!it)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    size_t got = 0;
    for (; got < cnt && !r.bad; got++) {
        struct item *x = &it[got];
        const uint8_t *q = take(&r, 2);
        uint16_t nl = q ? mc_le16(q) : 0;
        const uint8_t *nm = take(&r, nl);
        if (!nm || !name_ok((const char *)nm, nl)) {
            r.bad = true;
            break;
        }
        memcpy(x->name, nm, nl);
        x->inblob_len = take32(&r);
        q = take(&r, MC_TSM_INBLOB_MAX);
        if (q)
            memcpy(x->inblob, q, MC_TSM_INBLOB_MAX);
        x->privlevel = take32(&r);
        x->write_gen = take64(&r);
        x->read_gen = take64(&r);
        uint32_t fl = take32(&r);
        x->out_len = take32(&r);
        q = x->out_len <= MC_TSM_OUTBLOB_MAX ? take(&r, x->out_len) : NULL;
        if (q && x->out_len && (x->out = malloc(x->out_len)))
            memcpy(x->out, q, x->out_len);
        x->aux_len = take32(&r);
        const uint8_t *a = x->aux_len <= MC_TSM_OUTBLOB_MAX ? take(&r, x->aux_len) : NULL;
        if (a && x->aux_len && (x->aux = malloc(x->aux_len)))
            memcpy(x->aux, a, x->aux_len);
        x->cached = fl & 1;
        if (!q || !a || (fl & ~1u) || x->inblob_len > MC_TSM_INBLOB_MAX || x->privlevel > MC_TSM_PRIVLEVEL_MAX ||
            (x->out_len && !x->out) || (x->aux_len && !x->aux) || (!x->cached && (x->out_len || x->aux_len)))
            r.bad = true;
        for (size_t k = 0; k < got && !r.bad; k++)
            if (!strcmp(it[k].name, x->name))
                r.bad = true;
    }
    if (!r.bad && r.off != n)
        r.bad = true;
    if (r.bad) {
        for (size_t i = 0; i <= got && i < cnt; i++) {
            free(it[i].out);
            free(it[i].aux);
        }
        free(it);
        return mc_seterr(err, MC_E_FORMAT, "%s is damaged (truncated or altered)", t->path);
    }
    clear_items(t);
    t->items = it;
    t->n = cnt;
    return MC_OK;
}

static mc_status encode_and_write(struct mc_tsm *t, struct mc_error *err)
{
    size_t n = 12;
    for (size_t i = 0; i < t->n; i++)
        n += 2 + strlen(t->items[i].name) + 4 + MC_TSM_INBLOB_MAX + 4 + 16 + 4 + 4 + t->items[i].out_len + 4 +
             t->items[i].aux_len;
    uint8_t *b = malloc(n), *p = b;
    if (!b)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    memcpy(p, MAGIC, 8);
    mc_put_le32(p + 8, (uint32_t)t->n);
    p += 12;
    for (size_t i = 0; i < t->n; i++) {
        const struct item *x = &t->items[i];
        size_t nl = strlen(x->name);
        mc_put_le16(p, (uint16_t)nl);
        memcpy(p + 2, x->name, nl);
        p += 2 + nl;
        mc_put_le32(p, x->inblob_len);
        memcpy(p + 4, x->inblob, MC_TSM_INBLOB_MAX);
        p += 4 + MC_TSM_INBLOB_MAX;
        mc_put_le32(p, x->privlevel);
        mc_put_le64(p + 4, x->write_gen);
        mc_put_le64(p + 12, x->read_gen);
        mc_put_le32(p + 20, x->cached ? 1 : 0);
        mc_put_le32(p + 24, x->out_len);
        p += 28;
        if (x->out_len)
            memcpy(p, x->out, x->out_len);
        p += x->out_len;
        mc_put_le32(p, x->aux_len);
        p += 4;
        if (x->aux_len)
            memcpy(p, x->aux, x->aux_len);
        p += x->aux_len;
    }
    mc_status s = mc_file_write_atomic(t->path, b, n, err);
    free(b);
    return s;
}

/* Lock and read the tree (a missing file is an empty tree). */
static int enter(struct mc_tsm *t, struct mc_error *err)
{
    mc_status s = mc_file_lock(t->path, t->wait_ms, &t->lock_fd, err);
    if (s)
        return s == MC_E_BUSY ? -EBUSY : -EIO;
    struct stat st;
    if (stat(t->path, &st) != 0) {
        clear_items(t);
        return 0;
    }
    uint8_t *b = NULL;
    size_t n = 0;
    s = mc_file_read(t->path, 64u << 20, &b, &n, err);
    if (!s)
        s = decode(t, b, n, err);
    free(b);
    if (s) {
        mc_file_unlock(t->lock_fd);
        t->lock_fd = -1;
        return s == MC_E_NOMEM ? -ENOMEM : -EIO;
    }
    return 0;
}

static int leave(struct mc_tsm *t, bool changed, int rc, struct mc_error *err)
{
    if (changed && encode_and_write(t, err) != MC_OK && rc >= 0)
        rc = -EIO;
    mc_file_unlock(t->lock_fd);
    t->lock_fd = -1;
    return rc;
}

static struct item *find(struct mc_tsm *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->items[i].name, name))
            return &t->items[i];
    return NULL;
}

/* ---- the tree ----------------------------------------------------------------------------------- */

mc_status mc_tsm_create(const struct mc_tsm_config *cfg, struct mc_tsm **out, struct mc_error *err)
{
    if (!out || !cfg || !cfg->state_path || cfg->privlevel_floor > MC_TSM_PRIVLEVEL_MAX)
        return mc_seterr(err, MC_E_INVAL, "configfs-tsm needs a state file and a privlevel floor 0..3");
    struct mc_tsm *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(cfg->state_path))) {
        free(t);
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    }
    t->wait_ms = cfg->wait_ms ? cfg->wait_ms : MC_PSP_STATE_WAIT_MS;
    t->guest = cfg->guest;
    t->floor = cfg->privlevel_floor;
    t->lock_fd = -1;
    *out = t;
    return MC_OK;
}

void mc_tsm_set_guest(struct mc_tsm *t, struct mc_sevguest *g)
{
    if (t)
        t->guest = g;
}

void mc_tsm_destroy(struct mc_tsm *t)
{
    if (!t)
        return;
    clear_items(t);
    free(t->path);
    free(t);
}

int mc_tsm_lookup(struct mc_tsm *t, const char *path, enum mc_tsm_node *node, char name[MC_TSM_NAME_MAX + 1],
                  enum mc_tsm_attr *attr)
{
    const size_t rl = strlen(MC_TSM_ROOT);
    if (!t || !path || strncmp(path, MC_TSM_ROOT, rl) != 0 || (path[rl] && path[rl] != '/'))
        return 1;
    const char *p = path + rl;
    if (!*p || !strcmp(p, "/report")) {
        *node = MC_TSM_DIR;
        return 0;
    }
    if (strncmp(p, "/report/", 8) != 0)
        return -ENOENT;
    p += 8;
    const char *slash = strchr(p, '/');
    size_t nl = slash ? (size_t)(slash - p) : strlen(p);
    if (!name_ok(p, nl))
        return -ENOENT;
    memcpy(name, p, nl);
    name[nl] = 0;
    struct mc_error e = {0};
    int rc = enter(t, &e);
    if (rc)
        return rc;
    bool there = find(t, name) != NULL;
    leave(t, false, 0, NULL);
    if (!there)
        return -ENOENT;
    if (!slash) {
        *node = MC_TSM_ITEM;
        return 0;
    }
    for (int a = 0; a < MC_TSM_NATTR; a++)
        if (!strcmp(slash + 1, names[a])) {
            *node = MC_TSM_FILE;
            *attr = (enum mc_tsm_attr)a;
            return 0;
        }
    return -ENOENT;
}

int mc_tsm_mkdir(struct mc_tsm *t, const char *name)
{
    size_t nl = name ? strlen(name) : 0;
    if (nl > MC_TSM_NAME_MAX)
        return -ENAMETOOLONG;
    if (!name_ok(name, nl))
        return nl && name[0] == '.' ? -EEXIST : -EINVAL;
    int rc = enter(t, NULL);
    if (rc)
        return rc;
    if (find(t, name))
        return leave(t, false, -EEXIST, NULL);
    if (t->n >= MAX_ITEMS)
        return leave(t, false, -ENOMEM, NULL);
    struct item *it = realloc(t->items, (t->n + 1) * sizeof *it);
    if (!it)
        return leave(t, false, -ENOMEM, NULL);
    t->items = it;
    memset(&it[t->n], 0, sizeof *it);
    memcpy(it[t->n].name, name, nl + 1);
    t->n++;
    return leave(t, true, 0, NULL);
}

int mc_tsm_rmdir(struct mc_tsm *t, const char *name)
{
    int rc = enter(t, NULL);
    if (rc)
        return rc;
    struct item *x = name ? find(t, name) : NULL;
    if (!x)
        return leave(t, false, -ENOENT, NULL);
    free(x->out);
    free(x->aux);
    /* the others keep their order: the order of their mkdir, which listings follow */
    memmove(x, x + 1, (size_t)(t->items + t->n - (x + 1)) * sizeof *x);
    t->n--;
    return leave(t, true, 0, NULL);
}

/* configfs_readdir walks a folder's children from the most recently made one: configfs_make_dirent
 * puts each new child at the head of the list. An item's attributes are made as configfs'
 * populate_attrs makes them — the type's attributes in order (tsm_report_extra_attrs: generation,
 * provider, privlevel, privlevel_floor), then its binary ones (inblob, outblob, auxblob) — so they
 * are listed in the reverse order. */
int mc_tsm_list(struct mc_tsm *t, const char *path, char **out, size_t *len)
{
    static const enum mc_tsm_attr made[MC_TSM_NATTR] = {MC_TSM_GENERATION, MC_TSM_PROVIDER, MC_TSM_PRIVLEVEL,
                                                        MC_TSM_PRIVLEVEL_FLOOR, MC_TSM_INBLOB, MC_TSM_OUTBLOB,
                                                        MC_TSM_AUXBLOB};
    if (!t || !path || !out || !len)
        return -EINVAL;
    *out = NULL;
    *len = 0;
    enum mc_tsm_node node;
    char name[MC_TSM_NAME_MAX + 1];
    enum mc_tsm_attr attr;
    int rc = mc_tsm_lookup(t, path, &node, name, &attr);
    if (rc)
        return rc > 0 ? -ENOENT : rc;
    if (node == MC_TSM_FILE)
        return -ENOTDIR;
    size_t cap = 64, n = 0;
    char *b = NULL;
    if (node == MC_TSM_DIR && strcmp(path, MC_TSM_ROOT "/report") != 0) { /* the root: report */
        b = malloc(cap);
        if (!b)
            return -ENOMEM;
        memcpy(b, "report", 7);
        n = 7;
    } else if (node == MC_TSM_ITEM) {
        b = malloc(cap = 256);
        if (!b)
            return -ENOMEM;
        for (int i = MC_TSM_NATTR - 1; i >= 0; i--) {
            size_t k = strlen(names[made[i]]) + 1;
            memcpy(b + n, names[made[i]], k);
            n += k;
        }
    } else {
        if ((rc = enter(t, NULL)))
            return rc;
        cap = 1;
        for (size_t i = 0; i < t->n; i++)
            cap += strlen(t->items[i].name) + 1;
        b = malloc(cap);
        for (size_t i = t->n; b && i-- > 0;) {
            size_t k = strlen(t->items[i].name) + 1;
            memcpy(b + n, t->items[i].name, k);
            n += k;
        }
        leave(t, false, 0, NULL);
        if (!b)
            return -ENOMEM;
    }
    *out = b;
    *len = n;
    return 0;
}

/* tsm.c's report read: the cached report when it belongs to this generation, else a new one. */
static int report(struct mc_tsm *t, struct item *x, bool *changed, struct mc_error *err)
{
    if (!x->inblob_len)
        return -EINVAL;
    if (x->cached && x->read_gen == x->write_gen)
        return 0;
    if (!t->guest)
        return -ENOTTY;
    free(x->out);
    free(x->aux);
    x->out = x->aux = NULL;
    x->out_len = x->aux_len = 0;
    x->cached = false;
    *changed = true;
    if (x->inblob_len != 64) /* sev_report_new: the report data is exactly 64 bytes */
        return -EINVAL;
    uint8_t *r = NULL, *a = NULL;
    size_t rl = 0, al = 0;
    int rc = mc_sevguest_tsm_report(t->guest, x->inblob, x->privlevel, &r, &rl, &a, &al, err);
    if (rc)
        return rc;
    if (rl > MC_TSM_OUTBLOB_MAX || al > MC_TSM_OUTBLOB_MAX) {
        free(r);
        free(a);
        return -EFBIG;
    }
    x->out = r;
    x->out_len = (uint32_t)rl;
    x->aux = a;
    x->aux_len = (uint32_t)al;
    x->cached = true;
    x->read_gen = x->write_gen;
    return 0;
}

int mc_tsm_read(struct mc_tsm *t, const char *name, enum mc_tsm_attr a, uint8_t **out, size_t *len,
                struct mc_error *err)
{
    *out = NULL;
    *len = 0;
    if ((unsigned)a >= MC_TSM_NATTR || (mc_tsm_attr_mode(a) & 0444) == 0)
        return -EACCES;
    int rc = enter(t, err);
    if (rc)
        return rc;
    struct item *x = find(t, name);
    if (!x)
        return leave(t, false, -ENOENT, err);
    char text[64];
    const uint8_t *src = (const uint8_t *)text;
    size_t n = 0;
    bool changed = false;
    switch (a) {
    case MC_TSM_PROVIDER: n = (size_t)snprintf(text, sizeof text, "%s\n", PROVIDER); break;
    case MC_TSM_GENERATION: n = (size_t)snprintf(text, sizeof text, "%llu\n", (unsigned long long)x->write_gen); break;
    case MC_TSM_PRIVLEVEL_FLOOR: n = (size_t)snprintf(text, sizeof text, "%u\n", t->floor); break;
    default:
        rc = report(t, x, &changed, err);
        src = a == MC_TSM_OUTBLOB ? x->out : x->aux;
        n = rc ? 0 : a == MC_TSM_OUTBLOB ? x->out_len : x->aux_len;
        break;
    }
    if (!rc && n && !(*out = malloc(n)))
        rc = -ENOMEM;
    if (!rc && n) {
        memcpy(*out, src, n);
        *len = n;
    }
    return leave(t, changed, rc, err);
}

/* tsm.c's try_advance_write_generation. */
static int advance(struct item *x)
{
    if (x->write_gen == x->read_gen - 1)
        return -EBUSY;
    x->write_gen++;
    return 0;
}

long mc_tsm_store(struct mc_tsm *t, const char *name, enum mc_tsm_attr a, const uint8_t *buf, size_t len,
                  struct mc_error *err)
{
    if ((unsigned)a >= MC_TSM_NATTR || (mc_tsm_attr_mode(a) & 0222) == 0)
        return -EACCES;
    unsigned val = 0;
    if (a == MC_TSM_PRIVLEVEL) { /* kstrtouint(buf, 0): decimal, 0x hex or 0 octal, one trailing newline */
        char s[32];
        size_t n = len && buf[len - 1] == '\n' ? len - 1 : len;
        if (n == 0 || n >= sizeof s)
            return -EINVAL;
        memcpy(s, buf, n);
        s[n] = 0;
        if (s[0] == '+' ? !s[1] : (s[0] == '-' || s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')))
            return -EINVAL;
        char *end;
        errno = 0;
        unsigned long v = strtoul(s[0] == '+' ? s + 1 : s, &end, 0);
        if (*end || end == s || (s[0] == '+' && end == s + 1))
            return -EINVAL;
        if (errno == ERANGE || v > 0xFFFFFFFFul)
            return -ERANGE;
        val = (unsigned)v;
        if (t->floor > val || val > MC_TSM_PRIVLEVEL_MAX)
            return -EINVAL;
    } else if (len > MC_TSM_INBLOB_MAX) {
        return -EFBIG;
    }
    int rc = enter(t, err);
    if (rc)
        return rc;
    struct item *x = find(t, name);
    if (!x)
        return leave(t, false, -ENOENT, err);
    if ((rc = advance(x)) != 0)
        return leave(t, false, rc, err);
    if (a == MC_TSM_PRIVLEVEL) {
        x->privlevel = val;
    } else {
        x->inblob_len = (uint32_t)len;
        if (len)
            memcpy(x->inblob, buf, len);
    }
    return leave(t, true, 0, err) ? -EIO : (long)len;
}
