/*
 * Key files of the simulated link. One file per key, named by its key ID, written to a
 * temporary name and renamed into place so a reader never sees half a key:
 *
 *   qkey-sim-key 1
 *   master SAE_A
 *   slave SAE_B
 *   key 3f1c...  (2 hex digits per key byte)
 *
 * Mode 0600. This is a simulation: keys touch the disk (docs/sim-link.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qkey/secmem.h"
#include "sim.h"

#define SIM_MAGIC "qkey-sim-key 1"

static const char hexdigits[] = "0123456789abcdef";

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int sim_store_put(SIM_LINK *s, const char *key_id, const char *slave, const unsigned char *key,
                  size_t len)
{
    char tmp[64];
    char *text = NULL;
    size_t n, cap = SIM_KEY_FILE_MAX;
    int fd = -1, rc = QKS_OK, saved;

    if ((text = qks_secure_alloc(cap)) == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "sim link: out of locked memory");
    n = (size_t)snprintf(text, cap, "%s\nmaster %s\nslave %s\nkey ", SIM_MAGIC, s->sae_id, slave);
    if (n + 2 * len + 2 > cap) {
        rc = qks_set_error(QKS_ERR_INTERNAL, "sim link: key file too large");
        goto done;
    }
    for (size_t i = 0; i < len; i++) {
        text[n++] = hexdigits[key[i] >> 4];
        text[n++] = hexdigits[key[i] & 15];
    }
    text[n++] = '\n';
    snprintf(tmp, sizeof(tmp), ".tmp.%s", key_id);
    fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = qks_set_error(QKS_ERR_IO, "sim link %s: cannot create key file: %s", s->dir,
                           strerror(errno));
        goto done;
    }
    if (write_all(fd, text, n) != 0 || close(fd) != 0) {
        saved = errno;
        fd = -1;
        (void)unlinkat(s->dirfd, tmp, 0); /* best effort: a stale .tmp file is never read */
        rc = qks_set_error(QKS_ERR_IO, "sim link %s: cannot write key file: %s", s->dir,
                           strerror(saved));
        goto done;
    }
    fd = -1;
    /* The key becomes visible to the slave only here, whole. */
    if (renameat2(s->dirfd, tmp, s->dirfd, key_id, RENAME_NOREPLACE) != 0 &&
        (errno != EINVAL || renameat(s->dirfd, tmp, s->dirfd, key_id) != 0)) {
        saved = errno;
        (void)unlinkat(s->dirfd, tmp, 0); /* best effort, as above */
        rc = qks_set_error(QKS_ERR_IO, "sim link %s: cannot publish key file: %s", s->dir,
                           strerror(saved));
    }
done:
    if (fd >= 0)
        close(fd);
    qks_secure_free(text, cap);
    return rc;
}

void sim_store_drop(SIM_LINK *s, const char *key_id)
{
    /* Undo path: if the file cannot be removed the key stays claimable by its slave only. */
    (void)unlinkat(s->dirfd, key_id, 0);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Parse "word VALUE\n" at *p into out (an SAE ID). */
static int parse_field(char **p, const char *word, char *out, size_t cap)
{
    size_t wl = strlen(word);
    char *nl;

    if (strncmp(*p, word, wl) != 0 || (*p)[wl] != ' ')
        return -1;
    *p += wl + 1;
    if ((nl = strchr(*p, '\n')) == NULL || (size_t)(nl - *p) >= cap)
        return -1;
    memcpy(out, *p, (size_t)(nl - *p));
    out[nl - *p] = '\0';
    *p = nl + 1;
    return qks_valid_sae_id(out) ? 0 : -1;
}

int sim_store_read(SIM_LINK *s, const char *name, SIM_KEY_HDR *hdr, unsigned char *key, size_t cap)
{
    char *text = NULL, *p;
    size_t len = 0;
    int fd, rc = QKS_OK;

    fd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return QKS_ERR_KEY_UNKNOWN; /* the caller words the message */
        return qks_set_error(QKS_ERR_IO, "sim link %s: cannot open key file: %s", s->dir,
                             strerror(errno));
    }
    if ((text = qks_secure_alloc(SIM_KEY_FILE_MAX + 1)) == NULL) {
        close(fd);
        return qks_set_error(QKS_ERR_NOMEM, "sim link: out of locked memory");
    }
    for (;;) {
        ssize_t n = read(fd, text + len, SIM_KEY_FILE_MAX - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = qks_set_error(QKS_ERR_IO, "sim link %s: cannot read key file: %s", s->dir,
                               strerror(errno));
            goto done;
        }
        if (n == 0 || (len += (size_t)n) == SIM_KEY_FILE_MAX)
            break;
    }
    text[len] = '\0';
    p = text;
    if (strncmp(p, SIM_MAGIC "\n", sizeof(SIM_MAGIC)) != 0)
        goto bad;
    p += sizeof(SIM_MAGIC);
    if (parse_field(&p, "master", hdr->master, sizeof(hdr->master)) != 0 ||
        parse_field(&p, "slave", hdr->slave, sizeof(hdr->slave)) != 0 || strncmp(p, "key ", 4))
        goto bad;
    p += 4;
    hdr->key_len = 0;
    while (p[0] != '\n') {
        int hi = hexval(p[0]), lo = hi < 0 ? -1 : hexval(p[1]);
        if (lo < 0 || hdr->key_len >= QKS_KEY_MAX)
            goto bad;
        if (key != NULL) {
            if (hdr->key_len >= cap)
                goto bad;
            key[hdr->key_len] = (unsigned char)(hi << 4 | lo);
        }
        hdr->key_len++;
        p += 2;
    }
    if (hdr->key_len == 0)
        goto bad;
    goto done;
bad:
    rc = qks_set_error(QKS_ERR_IO, "sim link %s: key file %s is corrupt", s->dir, name);
done:
    close(fd);
    qks_secure_free(text, SIM_KEY_FILE_MAX + 1);
    return rc;
}

int sim_store_count(SIM_LINK *s, const char *peer, long *to_peer, long *from_peer)
{
    int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d;
    struct dirent *e;

    *to_peer = *from_peer = 0;
    if (fd < 0 || (d = fdopendir(fd)) == NULL) {
        if (fd >= 0)
            close(fd);
        return qks_set_error(QKS_ERR_IO, "sim link %s: cannot list: %s", s->dir, strerror(errno));
    }
    while ((e = readdir(d)) != NULL) {
        SIM_KEY_HDR hdr;
        if (!qks_valid_key_id(e->d_name))
            continue;
        if (sim_store_read(s, e->d_name, &hdr, NULL, 0) != QKS_OK)
            continue; /* delivered meanwhile, or corrupt: not a waiting key */
        if (strcmp(hdr.master, s->sae_id) == 0 && strcmp(hdr.slave, peer) == 0)
            (*to_peer)++;
        else if (strcmp(hdr.master, peer) == 0 && strcmp(hdr.slave, s->sae_id) == 0)
            (*from_peer)++;
    }
    closedir(d);
    return QKS_OK;
}
